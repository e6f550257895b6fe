using System.Globalization;
using System.Net.Http.Headers;
using System.Text;
using System.Text.Json;
using System.Text.RegularExpressions;
using Serverless.Functions.Azure.HostStandIn.Host;

namespace Serverless.Functions.Azure.ColdStart;

/// <summary>
/// One cold start of one published worker for one model: a fresh worker process with an empty model cache, started
/// and driven by the host stand-in up to the first successful inference through the OpenInference function.
/// </summary>
internal static partial class ColdStartRun
{
    private const string ProtocolFunction = "OpenInference";

    public static async Task<ColdStartSample> MeasureAsync(
        FunctionsHostStandIn host, string variant, string appDirectory, string storageConnection, SampleModel model, CancellationToken cancellationToken)
    {
        var cache = Directory.CreateTempSubdirectory("coldstart-cache-").FullName;
        try
        {
            var settings = new Dictionary<string, string>
            {
                ["InferenceStorage"] = storageConnection,
                ["Inference__CacheDirectory"] = cache,
            };
            await using var worker = host.StartWorker(new WorkerLaunch(appDirectory, settings));
            await worker.InitializeAsync(cancellationToken).ConfigureAwait(false);
            var initialized = worker.Elapsed;
            await worker.LoadFunctionsAsync(cancellationToken).ConfigureAwait(false);
            var loaded = worker.Elapsed;

            using var content = new StringContent(model.RequestBody, Encoding.UTF8, new MediaTypeHeaderValue("application/json"));
            var answer = await worker.InvokeHttpAsync(ProtocolFunction, HttpMethod.Post, $"/v2/models/{model.Name}/infer", content, cancellationToken).ConfigureAwait(false);
            var answered = worker.Elapsed;
            using (var json = Parse(answer.Body))
            {
                if (answer.StatusCode != 200 || answer.InvocationStatus != "Success" || json is null || !model.IsAnswer(json.RootElement))
                {
                    throw new InvalidOperationException(
                        $"{variant} {model.Name}: no answer ({answer.StatusCode}, invocation {answer.InvocationStatus} {answer.InvocationError}): {answer.Body}\n{worker.Output}");
                }
            }

            var report = worker.Logs.Select(log => LoadedLine().Match(log.Message)).FirstOrDefault(match => match.Success && match.Groups["model"].Value == model.Name)
                ?? throw new InvalidOperationException($"{variant} {model.Name}: the worker logged no LoadReport:\n{string.Join('\n', worker.Logs.Select(l => l.Message))}\n{worker.Output}");
            var connected = await worker.Connected.ConfigureAwait(false);
            return new ColdStartSample(
                model.Name,
                variant,
                connected.TotalMilliseconds,
                initialized.TotalMilliseconds,
                loaded.TotalMilliseconds,
                answered.TotalMilliseconds,
                Milliseconds(report, "download"),
                Milliseconds(report, "session"),
                Milliseconds(report, "warmup"));
        }
        finally
        {
            Directory.Delete(cache, recursive: true);
        }
    }

    private static JsonDocument? Parse(string body)
    {
        try
        {
            return JsonDocument.Parse(body);
        }
        catch (JsonException)
        {
            return null;
        }
    }

    private static double Milliseconds(Match match, string group) => double.Parse(match.Groups[group].Value, CultureInfo.InvariantCulture);

    /// <summary>The core's ModelLoader line: "Loaded model {Model} version {Version} in {TotalMs} ms (download {DownloadMs}, session {SessionMs}, warmup {WarmupMs})".</summary>
    [GeneratedRegex(@"^Loaded model (?<model>\S+) version \S+ in \d+ ms \(download (?<download>\d+), session (?<session>\d+), warmup (?<warmup>\d+)\)")]
    private static partial Regex LoadedLine();
}
