using System.Text.Json;
using Amazon.S3.Model;
using Serverless.Functions.Aws.Tests.Support;
using Serverless.Functions.Azure.Tests.Support;
using Serverless.Infer.Cli.Monitor;
using Serverless.Inference.Tests.Cli;
using Serverless.Inference.Tests.Monitoring.Support;

namespace Serverless.Inference.Tests.Monitoring;

/// <summary>
/// <c>infer monitor</c> as a user runs it (the apphost in its own process): windows read from a real Azurite and a real
/// moto S3 by URL, and the user's mistakes answered with one line and an exit code.
/// </summary>
public sealed class MonitorProcessTests : IClassFixture<Azurite>, IClassFixture<MotoServer>, IDisposable
{
    private const int Rows = 3000;
    private static readonly TimeSpan HangGuard = TimeSpan.FromMinutes(2);
    private static readonly DateTimeOffset BaselineStart = new(2026, 12, 1, 10, 0, 0, TimeSpan.Zero);
    private static readonly DateTimeOffset CurrentStart = new(2026, 12, 2, 10, 0, 0, TimeSpan.Zero);

    private readonly Azurite _azurite;
    private readonly MotoServer _moto;
    private readonly string _root = Directory.CreateTempSubdirectory("monitor-process-").FullName;

    public MonitorProcessTests(Azurite azurite, MotoServer moto)
    {
        (_azurite, _moto) = (azurite, moto);
        IrisCapture.WriteWindow(Path.Combine(_root, "windows"), BaselineStart, Rows, seed: 21, IrisShift.None, hours: 2);
        IrisCapture.WriteWindow(Path.Combine(_root, "windows"), CurrentStart, Rows, seed: 22, new IrisShift(Feature0: 1.0, SetosaShare: 0.7), hours: 2);
    }

    public void Dispose() => Directory.Delete(_root, recursive: true);

    [Fact]
    public async Task Monitor_WindowsInAzurite_ReadByBlobUrl_FlagsTheShift()
    {
        var container = _azurite.Container("capture");
        await container.CreateIfNotExistsAsync();
        foreach (var (key, path) in CaptureFiles())
        {
            // In Blob Storage the first segment, capture, is the container.
            await container.GetBlobClient(key["capture/".Length..]).UploadAsync(path, overwrite: true);
        }

        var blobs = $"http://127.0.0.1:{_azurite.Port}/devstoreaccount1/capture/iris/1/2026/12/";
        var (exit, output) = await RunAsync(
            new Dictionary<string, string> { ["AZURE_STORAGE_CONNECTION_STRING"] = _azurite.ConnectionString },
            "--baseline", blobs + "01/", "--current", blobs + "02/", "--out", "azure");

        Assert.True(exit == MonitorExitCodes.Drift, output);
        AssertFlaggedShift(Path.Combine(_root, "azure"));
    }

    [Fact]
    public async Task Monitor_WindowsInMotoS3_ReadByS3UrlWithHourRange_FlagsTheShift()
    {
        using var s3 = _moto.CreateS3();
        await s3.PutBucketAsync("monitor-capture");
        foreach (var (key, path) in CaptureFiles())
        {
            await s3.PutObjectAsync(new PutObjectRequest { BucketName = "monitor-capture", Key = key, FilePath = path });
        }

        var (exit, output) = await RunAsync(
            _moto.Environment,
            "--baseline", "s3://monitor-capture/capture/iris/1/2026/12/01/",
            "--current", "s3://monitor-capture/capture/iris/1/",
            "--from", "2026-12-02T11:00Z", "--to", "2026-12-02T12:00Z", "--model", "iris", "--version", "1", "--out", "s3");

        Assert.True(exit == MonitorExitCodes.Drift, output);
        var current = AssertFlaggedShift(Path.Combine(_root, "s3")).GetProperty("current");
        Assert.Equal(Rows / 2, current.GetProperty("records").GetInt64());
        Assert.Equal("2026-12-02T11:00:00+00:00", current.GetProperty("first").GetString());
    }

    [Fact]
    public async Task Monitor_BucketThatDoesNotExist_OneLineErrorAndExitCodeOne()
    {
        var (exit, output) = await RunAsync(_moto.Environment, "--baseline", "s3://no-such-bucket/capture/", "--current", "s3://no-such-bucket/capture/");

        Assert.Equal(MonitorExitCodes.Unreadable, exit);
        Assert.Contains("error:", output, StringComparison.Ordinal);
        Assert.DoesNotContain("   at ", output, StringComparison.Ordinal);
    }

    [Fact]
    public async Task Monitor_MissingFolderOrBadOption_OneLineErrorAndNoStackTrace()
    {
        var (missing, missingOutput) = await RunAsync(new Dictionary<string, string>(), "--baseline", "nowhere", "--current", "nowhere");
        var (window, windowOutput) = await RunAsync(new Dictionary<string, string>(), "--baseline", "windows", "--current", "windows", "--window", "soon");

        Assert.Equal(MonitorExitCodes.Unreadable, missing);
        Assert.Contains("nowhere is neither a folder nor a file", missingOutput, StringComparison.Ordinal);
        Assert.Equal(MonitorExitCodes.Unreadable, window);
        Assert.Contains("--window takes a positive number and a unit", windowOutput, StringComparison.Ordinal);
        Assert.DoesNotContain("   at ", missingOutput + windowOutput, StringComparison.Ordinal);
    }

    private static JsonElement AssertFlaggedShift(string output)
    {
        var report = JsonDocument.Parse(File.ReadAllBytes(Path.Combine(output, "report.json"))).RootElement;
        var drifted = report.GetProperty("features").EnumerateArray().Where(f => f.GetProperty("drift").GetBoolean()).Select(f => f.GetProperty("name").GetString());
        Assert.Equal(["Features[0]", "PredictedLabel"], drifted);
        return report;
    }

    private IEnumerable<(string Key, string Path)> CaptureFiles() =>
        Directory.EnumerateFiles(Path.Combine(_root, "windows"), "*.jsonl", SearchOption.AllDirectories)
            .Select(path => (Path.GetRelativePath(Path.Combine(_root, "windows"), path).Replace('\\', '/'), path));

    private async Task<(int Exit, string Output)> RunAsync(IReadOnlyDictionary<string, string> environment, params string[] arguments)
    {
        using var process = InferProcess.Start(_root, environment, InferProcess.Infer, ["monitor", .. arguments]);
        var exit = await process.WaitForExitAsync(HangGuard);
        return (exit, process.Output);
    }
}
