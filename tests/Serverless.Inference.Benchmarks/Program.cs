using Serverless.Inference.Benchmarks.Figures;
using Serverless.Inference.Benchmarks.Harness;

// The hidden children of batch-memory and request-memory: a fresh process per measurement, so each peak RSS is its own.
if (args is [BatchMemory.ChildCommand, ..])
{
    return await BatchMemory.RunChildAsync(args);
}

if (args is [RequestMemory.ChildCommand, ..])
{
    return await RequestMemory.RunChildAsync(args);
}

if (args is [MonitorScale.ChildCommand, ..])
{
    return await MonitorScale.RunChildAsync(args);
}

// One entry per figure, in the order "all" runs them.
(string Name, Func<Task> Run)[] figures =
[
    ("json-alloc", () => { JsonAlloc.Run(); return Task.CompletedTask; }),
    ("http", HttpLatency.RunAsync),
    ("throughput", Throughput.RunAsync),
    ("coldstart", ColdStart.RunAsync),
    ("coldstart-aot", ColdStartAot.RunAsync),
    ("batch", BatchThroughput.RunAsync),
    ("batch-memory", BatchMemory.RunAsync),
    ("request-memory", RequestMemory.RunAsync),
    ("batch-overlap", BatchOverlap.RunAsync),
    ("batch-scale", () => BatchScale.RunAsync(args)),
    ("pipeline-image", PipelineImage.RunAsync),
    ("pipeline-text", PipelineText.RunAsync),
    ("dynamic-batching", DynamicBatching.RunAsync),
    ("grpc-vs-rest", GrpcVsRest.RunAsync),
    ("refresh-latency", RefreshLatency.RunAsync),
    ("monitor-scale", MonitorScale.RunAsync),
    ("stream-throughput", StreamThroughput.RunAsync),
    ("stream-latency", StreamLatency.RunAsync),
    ("capture-cost", CaptureCost.RunAsync),
    ("capture-record", CaptureRecordCost.RunAsync),
    ("optimize-minilm", () => { OptimizeMiniLm.Run(); return Task.CompletedTask; }),
    ("optimize-fp16", OptimizeFp16.RunAsync),
    ("optimize-vision", OptimizeVision.RunAsync),
];
var figure = args.Length > 0 ? args[0].ToLowerInvariant() : "all";
if ((args.Length > 1 && figure != "batch-scale") || (figure != "all" && !figures.Any(f => f.Name == figure)))
{
    Console.Error.WriteLine("usage: dotnet run -c Release --project tests/Serverless.Inference.Benchmarks -- [all|" + string.Join('|', figures.Select(f => f.Name)) + "]");
    return 2;
}

var started = System.Diagnostics.Stopwatch.GetTimestamp();
Report.Header();
foreach (var (name, run) in figures.Where(f => figure == "all" || f.Name == figure))
{
    await run();
}

Console.WriteLine();
Report.Line($"done in {System.Diagnostics.Stopwatch.GetElapsedTime(started).TotalSeconds:F0} s");
return 0;
