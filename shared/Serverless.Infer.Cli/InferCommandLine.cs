using System.CommandLine;
using Serverless.Inference.Batch;

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
        var dropFolder = new Option<DirectoryInfo>("--drop-folder")
        {
            Description = "Batch drop folder: files put under incoming/<model>[/<version>]/ are scored into outgoing/.",
            DefaultValueFactory = _ => new DirectoryInfo("batch"),
        };

        var captureDir = new Option<DirectoryInfo?>("--capture-dir")
        {
            Description = "Where sampled requests of models with monitoring.capture are recorded, under capture/<model>/<version>/...; default: the drop folder, laid out as the cloud bucket is.",
        };

        var memory = new Option<int?>("--memory-mb")
        {
            Description = "The memory to plan for, as a function would have it (e.g. 1024 for the Lambda default); default: the container's limit or the machine's memory.",
        };
        memory.Validators.Add(result =>
        {
            if (result.GetValueOrDefault<int?>() is < 128)
            {
                result.AddError("--memory-mb must be at least 128");
            }
        });

        var grpcPort = new Option<int?>("--grpc-port") { Description = "Also serve the Open Inference Protocol over gRPC (h2c) on this port of 127.0.0.1." };
        grpcPort.Validators.Add(result =>
        {
            if (result.GetValueOrDefault<int?>() is < 1 or > 65535)
            {
                result.AddError("--grpc-port must be between 1 and 65535");
            }
        });

        var serve = new Command("serve", "Serve the Open Inference Protocol (KServe v2 REST) on http://127.0.0.1:<port>/v2.")
        {
            repository, port, maxRequestBytes, warmup, dropFolder, memory, grpcPort, captureDir,
        };
        serve.SetAction((parse, cancellation) => ServeCommand.RunAsync(
            new ServeSettings(
                parse.GetValue(repository)!.FullName,
                parse.GetValue(port),
                parse.GetValue(maxRequestBytes),
                parse.GetValue(warmup),
                parse.GetValue(dropFolder)!.FullName,
                parse.GetValue(memory),
                parse.GetValue(grpcPort),
                (parse.GetValue(captureDir) ?? parse.GetValue(dropFolder))!.FullName),
            cancellation));

        var input = new Argument<FileInfo>("file") { Description = "The file to score: .csv or .jsonl." };
        var model = new Option<string>("--model", "-m") { Description = "The model to score with.", Required = true };
        var version = new Option<string?>("--version") { Description = "A version or alias; default: the model's default." };
        var output = new Option<FileInfo?>("--output", "-o") { Description = "Results file; default: <file>.results.<ext> beside the input." };
        var format = new Option<BatchFormat?>("--format") { Description = "csv or jsonl; default: from the file's extension." };
        var batchSize = new Option<int?>("--batch-size") { Description = "Rows per model run; default: the model's max_batch_size." };
        var workers = new Option<int>("--workers", "-w")
        {
            Description = "Scorers working on shards of the file at once (its planned pieces); 1 scores it in one piece.",
            DefaultValueFactory = _ => 1,
        };
        workers.Validators.Add(result =>
        {
            if (result.GetValueOrDefault<int>() is < 1 or > 256)
            {
                result.AddError("--workers must be between 1 and 256");
            }
        });
        var score = new Command("score", """
            Score a CSV or JSON-lines file with a model; one result per row, bad rows get an error.

            Exit codes:
              0    every row scored; results and summary written
              1    the model is unknown or could not be loaded or run, or a file could not be read or written
                   (no results published); or the command line itself is wrong
              2    the input file does not exist, or its format is neither .csv nor .jsonl and no --format
              3    results and summary written, but some rows failed (each carries its error)
              130  cancelled (Ctrl+C); nothing written
            """)
        {
            input, model, version, output, format, batchSize, workers, repository,
        };
        score.SetAction((parse, cancellation) => ScoreCommand.RunAsync(
            new ScoreSettings(
                parse.GetValue(repository)!.FullName,
                parse.GetValue(input)!,
                parse.GetValue(model)!,
                parse.GetValue(version),
                parse.GetValue(output),
                parse.GetValue(format),
                parse.GetValue(batchSize),
                parse.GetValue(workers)),
            cancellation));

        var models = new Command("models", "List the repository's models with their versions and signatures.") { repository };
        models.SetAction((parse, cancellation) => ModelsCommand.RunAsync(parse.GetValue(repository)!.FullName, cancellation));

        var optimize = BuildOptimize(repository);

        return new RootCommand("Serve ONNX models with the Open Inference Protocol, locally as in Azure Functions and AWS Lambda.")
        {
            serve,
            score,
            models,
            optimize,
            Monitor.MonitorCommandLine.Build(),
            StreamCommand.Create(repository),
        };
    }

    private static Command BuildOptimize(Option<DirectoryInfo> repository)
    {
        var model = new Argument<string>("model") { Description = "The model to make a variant of." };
        var version = new Option<string?>("--version") { Description = "The source version or alias; default: the model's default version." };
        var method = new Option<string>("--method")
        {
            Description = "int8-dynamic (MatMul/Gemm weights as int8: transformers), int8-static (QDQ from calibration rows: convolutional models) or fp16.",
            Required = true,
        };
        var calibration = new Option<FileInfo?>("--calibration") { Description = "JSON lines in the model's request form for int8-static's activation ranges; the report's rows when --samples is not given." };
        var samples = new Option<FileInfo?>("--samples") { Description = "JSON lines in the model's request form (texts, images or tensors, as infer score reads them) the report compares both models on." };
        var publish = new Option<string?>("--publish") { Description = "An alias set to the new version when it passes the thresholds, e.g. fast." };
        var minCosine = new Option<double?>("--min-cosine") { Description = "Refuse the variant when an output's mean cosine similarity to the source is lower, e.g. 0.99." };
        var minAgreement = new Option<double?>("--min-agreement") { Description = "Refuse the variant when an output's top-1 agreement with the source is lower, e.g. 0.98." };
        var optimize = new Command("optimize", $"""
            Make a smaller, faster variant of a model (int8 or FP16) as its next version folder, recorded in model.json,
            with a report of what it costs in accuracy and saves in size, load time, latency and memory.

            {OptimizeCommand.ExitCodes}
            """)
        {
            model, version, method, calibration, samples, publish, minCosine, minAgreement, repository,
        };
        optimize.SetAction((parse, cancellation) => OptimizeCommand.RunAsync(
            new Serverless.Inference.Optimization.Variants.OptimizeRequest(
                parse.GetValue(repository)!.FullName,
                parse.GetValue(model)!,
                parse.GetValue(version),
                parse.GetValue(method)!,
                parse.GetValue(calibration)?.FullName,
                parse.GetValue(samples)?.FullName,
                parse.GetValue(publish),
                parse.GetValue(minCosine),
                parse.GetValue(minAgreement)),
            cancellation));
        return optimize;
    }
}
