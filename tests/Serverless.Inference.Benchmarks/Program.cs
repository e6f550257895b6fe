using Serverless.Inference.Benchmarks.Figures;
using Serverless.Inference.Benchmarks.Harness;

// The hidden child of batch-memory: a fresh process per measurement, so each peak RSS is its own.
if (args is [BatchMemory.ChildCommand, ..])
{
    return await BatchMemory.RunChildAsync(args);
}

string[] figures = ["all", "http", "throughput", "coldstart", "json-alloc", "batch", "batch-memory", "pipeline-image", "pipeline-text"];
var figure = args.Length > 0 ? args[0].ToLowerInvariant() : "all";
if (args.Length > 1 || !figures.Contains(figure))
{
    Console.Error.WriteLine("usage: dotnet run -c Release --project tests/Serverless.Inference.Benchmarks -- [" + string.Join('|', figures) + "]");
    return 2;
}

var started = System.Diagnostics.Stopwatch.GetTimestamp();
Report.Header();
if (figure is "all" or "json-alloc")
{
    JsonAlloc.Run();
}

if (figure is "all" or "http")
{
    await HttpLatency.RunAsync();
}

if (figure is "all" or "throughput")
{
    await Throughput.RunAsync();
}

if (figure is "all" or "coldstart")
{
    await ColdStart.RunAsync();
}

if (figure is "all" or "batch")
{
    await BatchThroughput.RunAsync();
}

if (figure is "all" or "batch-memory")
{
    await BatchMemory.RunAsync();
}

if (figure is "all" or "pipeline-image")
{
    await PipelineImage.RunAsync();
}

if (figure is "all" or "pipeline-text")
{
    await PipelineText.RunAsync();
}

Console.WriteLine();
Report.Line($"done in {System.Diagnostics.Stopwatch.GetElapsedTime(started).TotalSeconds:F0} s");
return 0;
