using System.Globalization;
using System.Net.Http.Headers;
using System.Text;
using System.Text.Json;
using System.Text.RegularExpressions;
using Serverless.Inference.Benchmarks.Harness;
using Serverless.Inference.Protocol;
using SixLabors.ImageSharp;
using SixLabors.ImageSharp.PixelFormats;

namespace Serverless.Inference.Benchmarks.Figures;

/// <summary>
/// Peak resident set size of <c>infer serve</c>'s host, planned for the memory the templates give the function
/// (1,024 MB in the SAM template, 2,048 MB in the CDK stack and on Azure), while it answers the largest request each
/// sample model accepts, alone and as a burst of 8 at once. Each measurement is a fresh child process
/// (<c>request-rss-child</c>), so each peak is its own.
/// </summary>
internal static partial class RequestMemory
{
    public const string ChildCommand = "request-rss-child";
    private const int Repetitions = 3;

    private static readonly string[] Models = ["iris", "minilm", "ppocr-cls", "resnet18"];
    private static readonly int[] MemoryMb = [1024, 2048];
    private static readonly int[] Bursts = [1, 8];

    public static async Task RunAsync()
    {
        var program = typeof(RequestMemory).Assembly.Location;
        Report.Title(
            "request-memory: peak RSS of the serve host answering each sample model's largest request, alone and 8 at once",
            Report.Invariant($"each child: dotnet {Path.GetFileName(program)} {ChildCommand} <model> <memory MB> <burst> — serve --memory-mb <memory MB> in process, one small request (the model loads),") + Environment.NewLine +
            "then VmHWM reset (/proc/self/clear_refs 5) and <burst> copies of the largest request sent at once; peak = VmHWM, after = VmRSS 2 s later. " +
            Report.Invariant($"{Repetitions} children each; medians.") + Environment.NewLine +
            "largest requests: iris 1,024 rows; minilm 64 texts of 300+ words (cut to 256 tokens); ppocr-cls 64 PNG text lines of 800 x 200; resnet18 one [1,3,224,224] FP32 tensor (binary).");
        if (ScoringHarness.ResidentSet() is null)
        {
            Report.Line($"no /proc/self/status here: this figure needs Linux");
            return;
        }

        var dotnet = ScoringHarness.DotnetHost();
        Console.WriteLine();
        Console.WriteLine(Report.Invariant($"{"model",-10} {"memory",7} {"burst",5}  {"answers",-22} {"loaded MiB",10} {"peak MiB",9} {"after MiB",9} {"peak/memory",11}"));
        foreach (var model in Models)
        {
            foreach (var memory in MemoryMb)
            {
                foreach (var burst in Bursts)
                {
                    var children = new List<Child>();
                    for (var i = 0; i < Repetitions; i++)
                    {
                        children.Add(await RunChildAsync(dotnet, program, model, memory, burst));
                    }

                    var peak = Stats.Median([.. children.Select(c => c.PeakKiB / 1024.0)]);
                    Console.WriteLine(Report.Invariant(
                        $"{model,-10} {memory,7} {burst,5}  {children[0].Answers,-22} {Stats.Median([.. children.Select(c => c.LoadedKiB / 1024.0)]),10:F0} {peak,9:F0} {Stats.Median([.. children.Select(c => c.AfterKiB / 1024.0)]),9:F0} {peak / memory,11:F2}"));
                }
            }
        }
    }

    /// <summary>The child: <c>request-rss-child &lt;model&gt; &lt;memory MB&gt; &lt;burst&gt;</c>; prints one line of key=value pairs.</summary>
    public static async Task<int> RunChildAsync(string[] args)
    {
        ArgumentNullException.ThrowIfNull(args);
        if (args.Length != 4 || !Models.Contains(args[1]) || !int.TryParse(args[2], CultureInfo.InvariantCulture, out var memory) || !int.TryParse(args[3], CultureInfo.InvariantCulture, out var burst))
        {
            await Console.Error.WriteLineAsync($"usage: {ChildCommand} <{string.Join('|', Models)}> <memory MB> <burst>");
            return 2;
        }

        var model = args[1];
        await using var serve = await ServeHost.StartAsync(Loopback.ModelRepository, RequestLimits.DefaultMaxRequestBytes, memory);
        using var client = Loopback.Client(maxConnections: burst);
        var uri = new Uri(serve.BaseAddress, $"/v2/models/{model}/infer");
        var (small, large) = Requests(model);
        using (var first = await client.SendAsync(Post(uri, small)))
        {
            if (!first.IsSuccessStatusCode)
            {
                await Console.Error.WriteLineAsync($"the small request got {(int)first.StatusCode}: {await first.Content.ReadAsStringAsync()}");
                return 1;
            }
        }

        var loaded = ScoringHarness.ResidentSet()!.Value;
        // Resets VmHWM to the current RSS, so the peak read next belongs to the large requests alone.
        await File.WriteAllTextAsync("/proc/self/clear_refs", "5");
        var statuses = await Task.WhenAll(Enumerable.Range(0, burst).Select(async _ =>
        {
            using var response = await client.SendAsync(Post(uri, large));
            return (int)response.StatusCode;
        }));
        var peak = ScoringHarness.ResidentSet()!.Value;
        await Task.Delay(TimeSpan.FromSeconds(2));
        var after = ScoringHarness.ResidentSet()!.Value;
        var answers = string.Join(' ', statuses.GroupBy(s => s).OrderBy(g => g.Key).Select(g => Report.Invariant($"{g.Count()}x{g.Key}")));
        Console.WriteLine(Report.Invariant($"answers={answers.Replace(' ', ',')} loaded_kb={loaded.RssKiB} hwm_kb={peak.PeakKiB} rss_kb={after.RssKiB}"));
        return 0;
    }

    private static (Body Small, Body Large) Requests(string model)
    {
        switch (model)
        {
            case "iris":
                return (Json(Tensor("Features", "FP32", [1, 4], new float[4])), Json(Tensor("Features", "FP32", [1024, 4], Enumerable.Range(0, 4096).Select(i => i % 7 + 0.5f).ToArray())));
            case "minilm":
                var text = string.Join(' ', Enumerable.Range(0, 320).Select(i => (i % 5) switch { 0 => "serverless", 1 => "functions", 2 => "score", 3 => "models", _ => "quickly" }));
                return (Json(Tensor("text", "BYTES", [1], new[] { "a short sentence" })), Json(Tensor("text", "BYTES", [64], Enumerable.Repeat(text, 64).ToArray())));
            case "ppocr-cls":
                var line = Convert.ToBase64String(Png(800, 200));
                return (Json(Tensor("image", "BYTES", [1], new[] { Convert.ToBase64String(Png(192, 48)) })), Json(Tensor("image", "BYTES", [64], Enumerable.Repeat(line, 64).ToArray())));
            default:
                var pixels = Enumerable.Range(0, 3 * 224 * 224).Select(i => (i % 255) / 255f).ToArray();
                var (body, header) = InferBodies.BinaryRequest("Input247", [1, 3, 224, 224], pixels);
                return (new Body(body, header), new Body(body, header));
        }
    }

    private static object Tensor<T>(string name, string datatype, long[] shape, T[] data) => new { name, datatype, shape, data };

    private static Body Json(object input) => new(JsonSerializer.SerializeToUtf8Bytes(new { inputs = new[] { input } }), null);

    private static HttpRequestMessage Post(Uri uri, Body body) => InferBodies.Post(uri, body.Bytes, body.HeaderLength);

    /// <summary>A PNG of a smooth gradient: compresses well, so 64 of them fit a request, and decodes to its full size.</summary>
    private static byte[] Png(int width, int height)
    {
        using var image = new Image<Rgb24>(width, height);
        for (var y = 0; y < height; y++)
        {
            for (var x = 0; x < width; x++)
            {
                image[x, y] = new Rgb24((byte)(x * 255 / width), (byte)(y * 255 / height), 128);
            }
        }

        using var stream = new MemoryStream();
        image.SaveAsPng(stream);
        return stream.ToArray();
    }

    private static async Task<Child> RunChildAsync(string dotnet, string program, string model, int memory, int burst)
    {
        var match = await ScoringHarness.RunChildAsync(dotnet, program, ChildLine(), ChildCommand, model, memory.ToString(CultureInfo.InvariantCulture), burst.ToString(CultureInfo.InvariantCulture));

        long Number(string name) => long.Parse(match.Groups[name].Value, CultureInfo.InvariantCulture);
        return new Child(match.Groups["answers"].Value.Replace(',', ' '), Number("loaded"), Number("hwm"), Number("rss"));
    }

    [GeneratedRegex(@"answers=(?<answers>\S+) loaded_kb=(?<loaded>\d+) hwm_kb=(?<hwm>\d+) rss_kb=(?<rss>\d+)")]
    private static partial Regex ChildLine();

    private sealed record Body(byte[] Bytes, int? HeaderLength);

    private sealed record Child(string Answers, long LoadedKiB, long PeakKiB, long AfterKiB);
}
