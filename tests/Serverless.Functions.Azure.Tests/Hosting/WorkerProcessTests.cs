using System.Net.Http.Headers;
using System.Text;
using System.Text.Json;
using Serverless.Functions.Azure.HostStandIn.Host;
using Serverless.Functions.Azure.Http;

namespace Serverless.Functions.Azure.Tests.Hosting;

/// <summary>
/// The worker as a process, as the Functions host runs it: started with the host's command line and environment, it
/// connects back over gRPC, indexes and loads its functions, and answers HTTP invocations through its own listener
/// (the ASP.NET Core integration's proxying). The host is a hand-written stand-in following the documented protocol;
/// these tests keep the app's side of that path working: startup, metadata, function binding, the proxied request.
/// </summary>
public sealed class WorkerProcessTests(RunningWorker running) : IClassFixture<RunningWorker>
{
    private static readonly TimeSpan Timeout = TimeSpan.FromMinutes(2);

    [Fact]
    public void Init_AdvertisesTheWorkersOwnHttpListener()
    {
        var uri = new Uri(running.Capabilities[WorkerChannel.HttpUriCapability]);

        Assert.Equal(Uri.UriSchemeHttp, uri.Scheme);
        Assert.True(uri.IsLoopback, $"{uri} is not a loopback address");
    }

    [Fact]
    public void LoadFunctions_LoadsEveryFunctionOfTheSdkGeneratedMetadata()
    {
        using var metadata = JsonDocument.Parse(File.ReadAllBytes(Path.Combine(RunningWorker.AppDirectory, "functions.metadata")));
        var expected = metadata.RootElement.EnumerateArray().Select(f => f.GetProperty("name").GetString()!).Order().ToList();

        Assert.Equal(expected, running.Worker.Functions.Select(f => f.Name).Order().ToList());
        Assert.Equal("request", running.Worker.Functions.Single(f => f.Name == OpenInferenceFunctions.ProtocolFunction).HttpTriggerBinding);
    }

    [Fact]
    public async Task Infer_ThroughTheProxiedInvocation_AnswersTheHandCheckedLabels()
    {
        var answer = await PostAsync("/v2/models/iris/infer", Iris.InferBody());

        Assert.Equal("Success", answer.InvocationStatus);
        Assert.Equal(200, answer.StatusCode);
        Assert.Equal("application/json", answer.ContentType);
        using var json = JsonDocument.Parse(answer.Body);
        var label = json.RootElement.GetProperty("outputs").EnumerateArray().Single(o => o.GetProperty("name").GetString() == "PredictedLabel.output");
        Assert.Equal(Iris.Labels, label.GetProperty("data").EnumerateArray().Select(v => v.GetString()!).ToList());
    }

    [Fact]
    public async Task Infer_MalformedBody_IsA400WithAJsonErrorAndTheInvocationSucceeds()
    {
        var answer = await PostAsync("/v2/models/iris/infer", """{"inputs":[{"name":"Features","datatype":"FP32","shape":[1,4],"data":[5.1,""");

        Assert.Equal(400, answer.StatusCode);
        using var json = JsonDocument.Parse(answer.Body);
        Assert.False(string.IsNullOrWhiteSpace(json.RootElement.GetProperty("error").GetString()));
        Assert.Equal("Success", answer.InvocationStatus);
    }

    [Fact]
    public async Task Infer_UnknownModel_IsA404()
    {
        var answer = await PostAsync("/v2/models/no-such-model/infer", Iris.InferBody());

        Assert.Equal(404, answer.StatusCode);
        using var json = JsonDocument.Parse(answer.Body);
        Assert.Contains("no-such-model", json.RootElement.GetProperty("error").GetString(), StringComparison.Ordinal);
    }

    [Fact]
    public async Task HealthLive_AnonymousRoute_AnswersLive()
    {
        using var timeout = new CancellationTokenSource(Timeout);
        var answer = await running.Worker.InvokeHttpAsync(OpenInferenceFunctions.LiveFunction, HttpMethod.Get, "/v2/health/live", null, timeout.Token);

        Assert.Equal(200, answer.StatusCode);
        Assert.Equal("Success", answer.InvocationStatus);
    }

    private async Task<HttpInvocationResult> PostAsync(string path, string body)
    {
        using var timeout = new CancellationTokenSource(Timeout);
        using var content = new StringContent(body, Encoding.UTF8, new MediaTypeHeaderValue("application/json"));
        return await running.Worker.InvokeHttpAsync(OpenInferenceFunctions.ProtocolFunction, HttpMethod.Post, path, content, timeout.Token);
    }
}
