using System.Diagnostics;
using System.Globalization;
using System.Reflection;
using System.Runtime.InteropServices;
using Serverless.Functions.Azure.ColdStart;
using Serverless.Functions.Azure.HostStandIn.Host;

// Cold start of the Azure Functions worker app, JIT against ReadyToRun: process start -> first successful inference,
// with the models in Azurite (the store the app reads in Azure is Blob Storage), through the host stand-in (the real
// Functions host cannot run here). Runs alternate JIT and ReadyToRun so machine load falls on both alike.
//   functions-azure/package.sh r2r && functions-azure/package.sh jit
//   dotnet run -c Release --project tests/Serverless.Functions.Azure.ColdStart [-- --runs 5 --models iris,minilm]
var options = args.Select((value, index) => (value, index)).Where(a => a.value.StartsWith("--", StringComparison.Ordinal))
    .ToDictionary(a => a.value[2..], a => a.index + 1 < args.Length ? args[a.index + 1] : "", StringComparer.Ordinal);
var artifacts = typeof(ColdStartRun).Assembly.GetCustomAttributes<AssemblyMetadataAttribute>().Single(a => a.Key == "PublishedWorkers").Value!;
var variants = new (string Name, string Directory)[]
{
    ("jit", options.GetValueOrDefault("jit", Path.Combine(artifacts, "jit", "publish"))),
    ("r2r", options.GetValueOrDefault("r2r", Path.Combine(artifacts, "r2r", "publish"))),
};
var runs = int.TryParse(options.GetValueOrDefault("runs", "5"), NumberStyles.None, CultureInfo.InvariantCulture, out var count) ? count : 0;
var names = options.GetValueOrDefault("models", "iris,minilm").Split(',', StringSplitOptions.RemoveEmptyEntries);
var models = names.Select(name => SampleModel.All.SingleOrDefault(m => m.Name == name)).ToList();
if (runs < 1 || models.Contains(null) || variants.Any(v => !File.Exists(Path.Combine(v.Directory, "worker.config.json"))))
{
    Console.Error.WriteLine("usage: dotnet run -c Release --project tests/Serverless.Functions.Azure.ColdStart -- [--runs N] [--models iris,minilm] [--jit DIR] [--r2r DIR]");
    Console.Error.WriteLine("The published workers come from functions-azure/package.sh r2r and functions-azure/package.sh jit.");
    return 2;
}

Console.WriteLine(FormattableString.Invariant($"Azure worker cold start, JIT vs ReadyToRun — {DateTimeOffset.UtcNow:yyyy-MM-dd HH:mm} UTC"));
Console.WriteLine(FormattableString.Invariant($"{RuntimeInformation.OSDescription}, {Environment.ProcessorCount} cores, {RuntimeInformation.FrameworkDescription}"));
Console.WriteLine("uptime: " + Uptime());
Console.WriteLine("The worker is started and driven by a hand-written stand-in for the Functions host (gRPC worker protocol + HTTP proxying);");
Console.WriteLine("each run: a new worker process, an empty model cache, the model downloaded from Azurite, one POST /v2/models/<m>/infer.");

using var cancel = new CancellationTokenSource(TimeSpan.FromMinutes(30));
using var azurite = await AzuriteBlob.StartAsync();
var container = azurite.CreateClient().GetBlobContainerClient("models");
await container.CreateAsync();
foreach (var model in models)
{
    await model!.UploadAsync(container);
}

await using var host = await FunctionsHostStandIn.StartAsync(cancel.Token);

// One untimed start of each variant, so neither pays alone for reading the files into the page cache.
foreach (var (name, directory) in variants)
{
    await ColdStartRun.MeasureAsync(host, name, directory, azurite.ConnectionString, models[0]!, cancel.Token);
}

var samples = new List<ColdStartSample>();
Console.WriteLine();
Console.WriteLine(FormattableString.Invariant($"{"run",4} {"model",-8} {"variant",-7} {"connected",10} {"init",8} {"loaded",8} {"answer",8} {"download",9} {"session",8} {"warmup",7}  (ms from process start; load phases from the worker's LoadReport)"));
for (var run = 1; run <= runs; run++)
{
    foreach (var model in models)
    {
        foreach (var (name, directory) in run % 2 == 1 ? variants : variants.Reverse())
        {
            var sample = await ColdStartRun.MeasureAsync(host, name, directory, azurite.ConnectionString, model!, cancel.Token);
            samples.Add(sample);
            Console.WriteLine(FormattableString.Invariant(
                $"{run,4} {sample.Model,-8} {sample.Variant,-7} {sample.ConnectedMs,10:F0} {sample.InitializedMs,8:F0} {sample.FunctionsLoadedMs,8:F0} {sample.FirstAnswerMs,8:F0} {sample.DownloadMs,9:F0} {sample.SessionMs,8:F0} {sample.WarmupMs,7:F0}"));
        }
    }
}

Console.WriteLine();
Console.WriteLine(FormattableString.Invariant($"medians of {runs} runs (ms)"));
Console.WriteLine(FormattableString.Invariant(
    $"{"model",-8} {"variant",-7} {"connected",10} {"init",8} {"loaded",8} {"answer",8} {"download",9} {"session",8} {"warmup",7} {"request",8}"));
foreach (var group in samples.GroupBy(s => (s.Model, s.Variant)))
{
    var list = group.ToList();
    Console.WriteLine(FormattableString.Invariant(
        $"{group.Key.Model,-8} {group.Key.Variant,-7} {Median(list, s => s.ConnectedMs),10:F0} {Median(list, s => s.InitializedMs),8:F0} {Median(list, s => s.FunctionsLoadedMs),8:F0} {Median(list, s => s.FirstAnswerMs),8:F0} {Median(list, s => s.DownloadMs),9:F0} {Median(list, s => s.SessionMs),8:F0} {Median(list, s => s.WarmupMs),7:F0} {Median(list, s => s.FirstRequestMs),8:F0}"));
}

Console.WriteLine("connected: the worker's gRPC stream opened; init: WorkerInitResponse; loaded: the last FunctionLoadResponse (worker ready);");
Console.WriteLine("answer: the first 200 from the infer function; request: answer - loaded (the first request, model load included).");
foreach (var model in models)
{
    var jit = samples.Where(s => s.Model == model!.Name && s.Variant == "jit").ToList();
    var r2r = samples.Where(s => s.Model == model!.Name && s.Variant == "r2r").ToList();
    Console.WriteLine(FormattableString.Invariant(
        $"ratio ({model!.Name}, r2r / jit): worker ready {Median(r2r, s => s.FunctionsLoadedMs) / Median(jit, s => s.FunctionsLoadedMs):F2}, first answer {Median(r2r, s => s.FirstAnswerMs) / Median(jit, s => s.FirstAnswerMs):F2}"));
}

Console.WriteLine("uptime: " + Uptime());
return 0;

static double Median(IReadOnlyList<ColdStartSample> samples, Func<ColdStartSample, double> value)
{
    var sorted = samples.Select(value).Order().ToArray();
    return sorted.Length % 2 == 1 ? sorted[sorted.Length / 2] : (sorted[(sorted.Length / 2) - 1] + sorted[sorted.Length / 2]) / 2;
}

static string Uptime()
{
    try
    {
        using var uptime = Process.Start(new ProcessStartInfo("uptime") { RedirectStandardOutput = true, UseShellExecute = false })!;
        var line = uptime.StandardOutput.ReadToEnd().Trim();
        uptime.WaitForExit();
        return line;
    }
    catch (System.ComponentModel.Win32Exception)
    {
        return "(uptime is not available here)";
    }
}
