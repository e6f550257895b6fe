using System.CommandLine;

namespace Serverless.Infer.Cli;

internal static class InferCommandLine
{
    /// <summary>The sample repository laid out beside the executable by the build.</summary>
    public static string DefaultRepository =>
        Environment.GetEnvironmentVariable("INFER_MODELS") is { Length: > 0 } configured
            ? configured
            : Path.Combine(AppContext.BaseDirectory, "models");

    public static RootCommand Build()
    {
        var repository = new Option<DirectoryInfo>("--repository", "-r")
        {
            Description = "Model repository folder (<name>/model.json, <name>/<version>/model.onnx). Default: the sample models, or $INFER_MODELS.",
            DefaultValueFactory = _ => new DirectoryInfo(DefaultRepository),
        };

        var port = new Option<int>("--port", "-p") { Description = "TCP port on 127.0.0.1.", DefaultValueFactory = _ => 8080 };
        var maxRequestBytes = new Option<int>("--max-request-bytes")
        {
            Description = "Larger request bodies get 413.",
            DefaultValueFactory = _ => Serverless.Inference.Protocol.RequestLimits.DefaultMaxRequestBytes,
        };
        var warmup = new Option<bool>("--warmup") { Description = "Load every model before accepting requests." };

        var serve = new Command("serve", "Serve the Open Inference Protocol (KServe v2 REST) on http://127.0.0.1:<port>/v2.")
        {
            repository, port, maxRequestBytes, warmup,
        };
        serve.SetAction((parse, cancellation) => ServeCommand.RunAsync(
            new ServeSettings(parse.GetValue(repository)!.FullName, parse.GetValue(port), parse.GetValue(maxRequestBytes), parse.GetValue(warmup)),
            cancellation));

        var models = new Command("models", "List the repository's models with their versions and signatures.") { repository };
        models.SetAction((parse, cancellation) => ModelsCommand.RunAsync(parse.GetValue(repository)!.FullName, cancellation));

        return new RootCommand("Serve ONNX models with the Open Inference Protocol, locally as in Azure Functions and AWS Lambda.")
        {
            serve,
            models,
        };
    }
}
