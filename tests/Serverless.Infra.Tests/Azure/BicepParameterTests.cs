namespace Serverless.Infra.Tests.Azure;

/// <summary>A wrong parameter value fails at compile time with a message that names the bound, before any deployment.</summary>
public sealed class BicepParameterTests
{
    [Fact]
    public async Task BuildParams_ExampleFile_Compiles()
    {
        var (result, parameters) = await BicepFixture.BuildParamsAsync(
            await File.ReadAllLinesAsync(Path.Combine(Support.InfraPaths.AzureFolder, "main.bicepparam")) is var lines
                ? [.. lines.Where(line => !line.StartsWith("using", StringComparison.Ordinal))]
                : []);

        Assert.True(result.ExitCode == 0, result.ToString());
        Assert.Equal(2048, parameters!["parameters"]!["instanceMemoryMB"]!["value"]!.GetValue<int>());
    }

    [Fact]
    public async Task BuildParams_ValidBoundaryValues_Compile()
    {
        var (result, parameters) = await BicepFixture.BuildParamsAsync(
            "param instanceMemoryMB = 4096",
            "param maximumInstanceCount = 1000",
            "param alwaysReadyHttpInstances = 1",
            "param alwaysReadyShardInstances = 1000",
            "param rowsPerShard = 20000",
            "param bytesPerShard = 0",
            "param runtimeVersion = '8.0'",
            "param subscribeBlobEvents = true",
            "param sweepSchedule = '0 0 * * * *'",
            "param sweepAfterMinutes = 1440",
            "param eventMaxDeliveryAttempts = 1",
            "param eventTimeToLiveInMinutes = 1");

        Assert.True(result.ExitCode == 0, result.ToString());
        Assert.True(parameters!["parameters"]!["subscribeBlobEvents"]!["value"]!.GetValue<bool>());
        Assert.Equal("0 0 * * * *", parameters["parameters"]!["sweepSchedule"]!["value"]!.GetValue<string>());
        Assert.Equal(20000, parameters["parameters"]!["rowsPerShard"]!["value"]!.GetValue<int>());
    }

    // One compiler run for all cases (each run costs seconds), one parameter per line: each must fail on its own, with its own message.
    public static readonly TheoryData<string, string> OutOfBounds = new()
    {
        { "param instanceMemoryMB = 1024", "Expected a value of type \"2048 | 4096 | 512\"" },
        { "param maximumInstanceCount = 39", "minimum allowable value is 40" },
        { "param alwaysReadyHttpInstances = 1001", "maximum allowable value is 1000" },
        { "param alwaysReadyBlobInstances = -2", "minimum allowable value is 0" },
        { "param runtimeVersion = '7.0'", "Expected a value of type \"'10.0' | '8.0' | '9.0'\"" },
        { "param namePrefix = 'ab'", "minimum allowable length is 3" },
        { "param logRetentionInDays = 7", "minimum allowable value is 30" },
        { "param sweepAfterMinutes = 0", "minimum allowable value is 1" },
        { "param eventMaxDeliveryAttempts = 31", "maximum allowable value is 30" },
        { "param eventTimeToLiveInMinutes = 1441", "maximum allowable value is 1440" },
        { "param alwaysReadyShardInstances = 1001", "maximum allowable value is 1000" },
        { "param rowsPerShard = -1", "minimum allowable value is 0" },
    };

    [Fact]
    public async Task BuildParams_OutOfBoundsValues_FailEachNamingItsBound()
    {
        var cases = OutOfBounds.Select(row => (Line: (string)row[0], Message: (string)row[1])).ToList();

        var (result, parameters) = await BicepFixture.BuildParamsAsync([.. cases.Select(c => c.Line)]);

        Assert.NotEqual(0, result.ExitCode);
        Assert.Null(parameters);
        var errors = result.StandardError.Split('\n', StringSplitOptions.RemoveEmptyEntries);
        for (var index = 0; index < cases.Count; index++)
        {
            // Line 1 is the using clause.
            var lineMarker = $"test.bicepparam({index + 2},";
            var error = Assert.Single(errors, e => e.Contains(lineMarker, StringComparison.Ordinal));
            Assert.Contains(": Error ", error, StringComparison.Ordinal);
            Assert.Contains(cases[index].Message, error, StringComparison.Ordinal);
        }
    }
}
