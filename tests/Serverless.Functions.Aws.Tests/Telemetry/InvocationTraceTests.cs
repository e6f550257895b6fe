using System.Collections.Concurrent;
using System.Diagnostics;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Logging.Abstractions;
using Serverless.Functions.Aws.Events;
using Serverless.Functions.Aws.Runtime;
using Serverless.Functions.Aws.Telemetry;
using Serverless.Inference.Telemetry;

namespace Serverless.Functions.Aws.Tests.Telemetry;

/// <summary>The loop in process, with the iris model: the X-Ray header Lambda hands over becomes our activities' parent.</summary>
public sealed class InvocationTraceTests : IAsyncLifetime, IDisposable
{
    private static readonly TimeSpan Patience = TimeSpan.FromSeconds(30);

    private readonly CancellationTokenSource _stop = new();
    private readonly ConcurrentQueue<Activity> _stopped = new();
    private readonly ActivityListener _listener;
    private RuntimeApiServer _api = null!;
    private HttpLambdaRuntimeApi _client = null!;

    public InvocationTraceTests()
    {
        _listener = new ActivityListener
        {
            ShouldListenTo = source => TelemetryNames.ActivitySources.Contains(source.Name),
            Sample = (ref ActivityCreationOptions<ActivityContext> _) => ActivitySamplingResult.AllDataAndRecorded,
            ActivityStopped = _stopped.Enqueue,
        };
        ActivitySource.AddActivityListener(_listener);
    }

    public async Task InitializeAsync()
    {
        _api = await RuntimeApiServer.StartAsync();
        _client = new HttpLambdaRuntimeApi(_api.Endpoint);
    }

    public async Task DisposeAsync()
    {
        await _stop.CancelAsync();
        await _api.DisposeAsync();
    }

    public void Dispose()
    {
        _listener.Dispose();
        _client.Dispose();
        _stop.Dispose();
    }

    [Fact]
    public async Task Infer_WithXRayHeader_InvocationActivityContinuesTheHeaderAndTheCoreActivityIsItsChild()
    {
        var settings = FunctionSettings.From(name => name == FunctionSettings.ModelDirectoryVariable ? TestModels.Repository : null);
        await using var services = new ServiceCollection().AddLogging().AddAwsFunction(settings).BuildServiceProvider();
        var dispatcher = services.GetRequiredService<EventDispatcher>();
        var loop = new LambdaBootstrap(_client, TimeProvider.System, NullLogger<LambdaBootstrap>.Instance)
            .RunAsync(_ => Task.FromResult<ILambdaHandler>(dispatcher), _stop.Token);

        var answer = await _api.InvokeAsync(
            HttpApiEvents.Infer(TestModels.IrisInferBody), traceId: "Root=1-5759e988-bd862e3fe1be46a994272793;Parent=53995c3f42cd8ad8;Sampled=1").WaitAsync(Patience);
        var invocation = await StoppedAsync(a => a.OperationName == InvocationScope.ActivityName && a.GetTagItem("faas.invocation_id") as string == answer.RequestId);
        var infer = await StoppedAsync(a => a.OperationName == "infer" && a.TraceId == invocation.TraceId);

        Assert.Equal("response", answer.Kind);
        Assert.Equal("5759e988bd862e3fe1be46a994272793", invocation.TraceId.ToHexString());
        Assert.Equal("53995c3f42cd8ad8", invocation.ParentSpanId.ToHexString());
        Assert.True(invocation.HasRemoteParent);
        Assert.Equal(ActivityKind.Server, invocation.Kind);
        Assert.Equal(invocation.SpanId, infer.ParentSpanId);
        Assert.Equal("iris", infer.GetTagItem("model.name"));
        Assert.False(loop.IsCompleted);
    }

    [Fact]
    public async Task Invocation_WithoutHeader_StartsItsOwnTrace()
    {
        var loop = new LambdaBootstrap(_client, TimeProvider.System, NullLogger<LambdaBootstrap>.Instance)
            .RunAsync(_ => Task.FromResult<ILambdaHandler>(new CurrentScopeHandler()), _stop.Token);

        var answer = await _api.InvokeAsync("{}").WaitAsync(Patience);
        var invocation = await StoppedAsync(a => a.OperationName == InvocationScope.ActivityName && a.GetTagItem("faas.invocation_id") as string == answer.RequestId);

        Assert.Equal(default, invocation.ParentSpanId);
        Assert.False(invocation.HasRemoteParent);
        // The handler saw the invocation's scope: its request id, and no trace to carry.
        Assert.Equal(answer.RequestId, answer.Json.GetProperty("requestId").GetString());
        Assert.Equal(JsonValueKind.Null, answer.Json.GetProperty("traceId").ValueKind);
        Assert.False(loop.IsCompleted);
    }

    private async Task<Activity> StoppedAsync(Func<Activity, bool> match)
    {
        using var patience = new CancellationTokenSource(Patience);
        while (true)
        {
            if (_stopped.FirstOrDefault(match) is { } activity)
            {
                return activity;
            }

            await Task.Delay(20, patience.Token);
        }
    }

    private sealed class CurrentScopeHandler : ILambdaHandler
    {
        public Task<ReadOnlyMemory<byte>> HandleAsync(LambdaInvocation invocation, CancellationToken cancellationToken)
        {
            var scope = InvocationScope.Current;
            var body = JsonSerializer.SerializeToUtf8Bytes(new Dictionary<string, string?> { ["requestId"] = scope?.RequestId, ["traceId"] = scope?.Trace?.Root });
            return Task.FromResult<ReadOnlyMemory<byte>>(body);
        }
    }
}
