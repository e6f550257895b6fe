using Amazon.CDK;
using Serverless.Infra.Aws;

var app = new App();
try
{
    var settings = InferenceStackSettings.FromContext(key => app.Node.TryGetContext(key)?.ToString());
    new InferenceStack(app, "ServerlessInference", settings, new StackProps
    {
        Description = "Serverless ONNX inference: an HTTP function behind an HTTP API, and a batch function that scores S3 drops through SQS, fanning big files out over a shard queue.",
    });
}
catch (ArgumentException invalid)
{
    // A wrong setting is the user's input: one clear line, not a stack trace.
    await Console.Error.WriteLineAsync($"Invalid deployment setting: {invalid.Message}");
    return 1;
}

app.Synth();
return 0;
