namespace Serverless.Functions.Aws.Tests.Hosting;

/// <summary>The stream function's variables: read together, checked, and refused with the variable named.</summary>
public sealed class StreamSettingsTests
{
    private const string Alerts = "https://sqs.eu-west-1.amazonaws.com/123456789012/ServerlessInference-Alerts";

    private static FunctionSettings From(params (string Name, string Value)[] variables) =>
        FunctionSettings.From(name => variables.FirstOrDefault(v => v.Name == name).Value);

    [Fact]
    public void From_ModelVersionAndQueue_Parsed()
    {
        var settings = From((LambdaContract.BucketVariable, "b"), (LambdaContract.StreamModelVariable, "iris"), (LambdaContract.StreamModelVersionVariable, "2"), (LambdaContract.AlertQueueUrlVariable, Alerts));

        Assert.Equal(("iris", "2"), (settings.Stream!.Model, settings.Stream.Version));
        Assert.Equal(("123456789012", "ServerlessInference-Alerts"), (settings.Stream.AlertQueue.Account, settings.Stream.AlertQueue.Name));
    }

    [Fact]
    public void From_NoStreamModel_NoStreaming()
    {
        Assert.Null(From((LambdaContract.BucketVariable, "b")).Stream);
    }

    [Theory]
    [InlineData("../iris", null, Alerts, "INFERENCE_STREAM_MODEL must be a model name")]
    [InlineData("iris", "1/2", Alerts, "INFERENCE_STREAM_MODEL_VERSION must be a model version")]
    [InlineData("iris", null, null, "INFERENCE_STREAM_MODEL needs the queue alerts are sent to")]
    [InlineData("iris", null, "alerts", "INFERENCE_ALERT_QUEUE_URL must be an SQS queue URL")]
    [InlineData(null, null, Alerts, "INFERENCE_STREAM_MODEL_VERSION and INFERENCE_ALERT_QUEUE_URL belong to the stream function")]
    [InlineData(null, "1", null, "INFERENCE_STREAM_MODEL_VERSION and INFERENCE_ALERT_QUEUE_URL belong to the stream function")]
    public void From_WrongStreamSettings_RefusedNamingTheVariable(string? model, string? version, string? alerts, string expected)
    {
        var error = Assert.Throws<InvalidOperationException>(() => FunctionSettings.From(name => name switch
        {
            LambdaContract.BucketVariable => "b",
            LambdaContract.StreamModelVariable => model,
            LambdaContract.StreamModelVersionVariable => version,
            LambdaContract.AlertQueueUrlVariable => alerts,
            _ => null,
        }));

        Assert.StartsWith(expected, error.Message, StringComparison.Ordinal);
    }

    [Fact]
    public void From_StreamModelWithoutBucket_Refused()
    {
        var error = Assert.Throws<InvalidOperationException>(() => From((LambdaContract.StreamModelVariable, "iris"), (LambdaContract.AlertQueueUrlVariable, Alerts)));

        Assert.Contains(LambdaContract.BucketVariable, error.Message, StringComparison.Ordinal);
    }
}
