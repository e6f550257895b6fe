using Amazon.CDK;
using Serverless.Infra.Aws;

var app = new App();
var settings = InferenceStackSettings.FromContext(key => app.Node.TryGetContext(key)?.ToString());
new InferenceStack(app, "ServerlessInference", settings, new StackProps
{
    Description = "Serverless ONNX inference: Lambda (provided.al2023) behind an HTTP API, batch scoring of S3 drops through SQS.",
});
app.Synth();
