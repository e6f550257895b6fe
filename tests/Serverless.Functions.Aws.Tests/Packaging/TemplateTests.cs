using System.Diagnostics;
using Serverless.Tests.Support;

namespace Serverless.Functions.Aws.Tests.Packaging;

public sealed class TemplateTests
{
    private static string Template => Path.Combine(AppContext.BaseDirectory, "functions-aws", "template.yaml");

    [Fact]
    public async Task CfnLint_SamTemplate_Passes()
    {
        var start = new ProcessStartInfo(PythonTools.CfnLint, [Template]) { RedirectStandardOutput = true, RedirectStandardError = true };
        using var process = Process.Start(start)!;
        var output = await process.StandardOutput.ReadToEndAsync() + await process.StandardError.ReadToEndAsync();
        await process.WaitForExitAsync();

        Assert.True(process.ExitCode == 0, output);
    }

    [Fact]
    public void Template_UsesTheContractNames()
    {
        var template = File.ReadAllText(Template);

        Assert.Contains("Runtime: provided.al2023", template, StringComparison.Ordinal);
        Assert.Contains($"{LambdaContract.BucketVariable}:", template, StringComparison.Ordinal);
        Assert.Contains($"{LambdaContract.WarmupModelsVariable}:", template, StringComparison.Ordinal);
        Assert.Contains($"Value: {LambdaContract.IncomingPrefix}", template, StringComparison.Ordinal);
        Assert.Contains("ReportBatchItemFailures", template, StringComparison.Ordinal);
        Assert.Contains($"{LambdaContract.ShardQueueUrlVariable}: !Ref ShardQueue", template, StringComparison.Ordinal);
        Assert.Contains($"{LambdaContract.ShardDeadLetterQueueUrlVariable}: !Ref ShardDeadLetterQueue", template, StringComparison.Ordinal);
        Assert.Contains($"{LambdaContract.SweepAfterMinutesVariable}:", template, StringComparison.Ordinal);
    }

    [Theory]
    [InlineData("http-infer.json", "HttpApi")]
    [InlineData("http-ready.json", "HttpApi")]
    [InlineData("s3-put.json", "S3")]
    [InlineData("sqs-s3-put.json", "Sqs")]
    [InlineData("sqs-shard.json", "Sqs")]
    public void SampleEvent_IsRecognised(string file, string shape)
    {
        using var document = JsonDocument.Parse(File.ReadAllText(Path.Combine(AppContext.BaseDirectory, "functions-aws", "events", file)));

        Assert.Equal(shape, Serverless.Functions.Aws.Events.EventDispatcher.Classify(document.RootElement).ToString());
    }
}
