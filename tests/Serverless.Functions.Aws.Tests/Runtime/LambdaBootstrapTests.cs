using Microsoft.Extensions.Logging.Abstractions;
using Microsoft.Extensions.Time.Testing;
using Serverless.Functions.Aws.Runtime;

namespace Serverless.Functions.Aws.Tests.Runtime;

/// <summary>The loop in process, through the real HTTP client, against the Runtime API test server.</summary>
public sealed class LambdaBootstrapTests : IAsyncLifetime, IDisposable
{
    private static readonly TimeSpan Patience = TimeSpan.FromSeconds(30);

    private RuntimeApiServer _api = null!;
    private HttpLambdaRuntimeApi _client = null!;
    private readonly CancellationTokenSource _stop = new();

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
        _client.Dispose();
        _stop.Dispose();
    }

    private Task<int> Run(ILambdaHandler handler, TimeProvider? time = null) =>
        new LambdaBootstrap(_client, time ?? TimeProvider.System, NullLogger<LambdaBootstrap>.Instance).RunAsync(_ => Task.FromResult(handler), _stop.Token);

    [Fact]
    public async Task RunAsync_Invocation_SetsTraceIdAndCancelsTheHandlerExactlyAtTheDeadlineLessTheMargin()
    {
        // Whole milliseconds: the Runtime API sends the deadline in epoch milliseconds.
        var time = new FakeTimeProvider(DateTimeOffset.FromUnixTimeMilliseconds(DateTimeOffset.UtcNow.ToUnixTimeMilliseconds()));
        var handed = new TaskCompletionSource<CancellationToken>(TaskCreationOptions.RunContinuationsAsynchronously);
        var release = new TaskCompletionSource(TaskCreationOptions.RunContinuationsAsynchronously);
        var handler = new DelegateHandler(async (invocation, token) =>
        {
            var trace = Environment.GetEnvironmentVariable(LambdaBootstrap.TraceIdVariable);
            handed.SetResult(token);
            await release.Task;
            return Encoding.UTF8.GetBytes($$"""{"trace":"{{trace}}","id":"{{invocation.RequestId}}"}""");
        });
        var loop = Run(handler, time);

        var answer = _api.InvokeAsync("{}", deadline: time.GetUtcNow().AddMilliseconds(800), traceId: "Root=1-abc;Parent=def;Sampled=1");
        var token = await handed.Task.WaitAsync(Patience);
        time.Advance(TimeSpan.FromMilliseconds(800) - LambdaBootstrap.DeadlineMargin - TimeSpan.FromMilliseconds(1));
        var beforeTheDeadline = token.IsCancellationRequested;
        time.Advance(TimeSpan.FromMilliseconds(1));
        var atTheDeadline = token.IsCancellationRequested;
        release.SetResult();
        var response = await answer.WaitAsync(Patience);

        Assert.False(beforeTheDeadline);
        Assert.True(atTheDeadline);
        Assert.Equal("response", response.Kind);
        Assert.Equal("Root=1-abc;Parent=def;Sampled=1", response.Json.GetProperty("trace").GetString());
        Assert.Equal(response.RequestId, response.Json.GetProperty("id").GetString());
        Assert.False(loop.IsCompleted);
    }

    [Fact]
    public async Task RunAsync_HandlerThrows_PostsErrorDocumentAndKeepsLooping()
    {
        var calls = 0;
        var handler = new DelegateHandler((_, _) => Interlocked.Increment(ref calls) == 1
            ? throw new InvalidDataException("the first one fails")
            : Task.FromResult<ReadOnlyMemory<byte>>("""{"ok":true}"""u8.ToArray()));
        var loop = Run(handler);

        var first = await _api.InvokeAsync("{}").WaitAsync(Patience);
        var second = await _api.InvokeAsync("{}").WaitAsync(Patience);

        Assert.Equal(("error", "InvalidDataException", "application/vnd.aws.lambda.error+json"), (first.Kind, first.ErrorType, first.ContentType));
        Assert.Equal("the first one fails", first.Json.GetProperty("errorMessage").GetString());
        Assert.Equal("InvalidDataException", first.Json.GetProperty("errorType").GetString());
        Assert.Contains(first.Json.GetProperty("stackTrace").EnumerateArray(), frame => frame.GetString()!.Contains(nameof(LambdaBootstrapTests), StringComparison.Ordinal));
        Assert.Equal("response", second.Kind);
        Assert.True(second.Json.GetProperty("ok").GetBoolean());
        Assert.False(loop.IsCompleted);
    }

    [Fact]
    public async Task RunAsync_EndHooks_RunAfterTheAnswerAndBeforeTheNextEventEvenWhenOneThrows()
    {
        var steps = new System.Collections.Concurrent.ConcurrentQueue<string>();
        var handler = new DelegateHandler((invocation, _) =>
        {
            steps.Enqueue("handle " + invocation.RequestId);
            return Task.FromResult<ReadOnlyMemory<byte>>("{}"u8.ToArray());
        });
        var hooks = new IInvocationEndHook[]
        {
            new DelegateHook((_, _) => throw new InvalidOperationException("a broken hook")),
            new DelegateHook(async (invocation, _) =>
            {
                // The caller already has the answer: the API recorded it before this hook started.
                steps.Enqueue($"hook {invocation.RequestId} after {_api.AnswerStatuses.Count} answers");
                await Task.Yield();
            }),
        };
        var loop = new LambdaBootstrap(_client, TimeProvider.System, NullLogger<LambdaBootstrap>.Instance, hooks).RunAsync(_ => Task.FromResult<ILambdaHandler>(handler), _stop.Token);

        var first = await _api.InvokeAsync("{}").WaitAsync(Patience);
        var second = await _api.InvokeAsync("{}").WaitAsync(Patience);
        await WaitUntilAsync(() => steps.Count == 4);

        Assert.Equal(
            [$"handle {first.RequestId}", $"hook {first.RequestId} after 1 answers", $"handle {second.RequestId}", $"hook {second.RequestId} after 2 answers"],
            steps.ToArray());
        Assert.False(loop.IsCompleted);
    }

    private static async Task WaitUntilAsync(Func<bool> condition)
    {
        var until = DateTime.UtcNow + Patience;
        while (!condition() && DateTime.UtcNow < until)
        {
            await Task.Delay(10);
        }
    }

    [Fact]
    public async Task RunAsync_SecondPostForOneIdIs403_LoopExits()
    {
        // A handler that answers the invocation itself, so the loop's own post is the second one.
        var handler = new DelegateHandler(async (invocation, token) =>
        {
            await _client.PostResponseAsync(invocation.RequestId, "{}"u8.ToArray(), token);
            return "{}"u8.ToArray();
        });
        var loop = Run(handler);

        await _api.InvokeAsync("{}").WaitAsync(Patience);
        var exitCode = await loop.WaitAsync(Patience);

        Assert.Equal(LambdaBootstrap.RuntimeApiFailedExitCode, exitCode);
        Assert.Equal([202, 403], _api.AnswerStatuses);
    }

    [Fact]
    public async Task RunAsync_InitialiserThrows_PostsInitErrorAndReturnsOne()
    {
        var bootstrap = new LambdaBootstrap(_client, TimeProvider.System, NullLogger<LambdaBootstrap>.Instance);

        var exitCode = await bootstrap.RunAsync(_ => throw new FileNotFoundException("model.onnx is missing"), _stop.Token).WaitAsync(Patience);
        var initError = await _api.InitError.WaitAsync(Patience);

        Assert.Equal(LambdaBootstrap.InitFailedExitCode, exitCode);
        Assert.Equal(("FileNotFoundException", "model.onnx is missing"), (initError.ErrorType, initError.Json.GetProperty("errorMessage").GetString()));
    }

    [Fact]
    public async Task PostResponseAsync_UnknownRequestId_Throws400ThatIsNotFatal()
    {
        var refused = await Assert.ThrowsAsync<LambdaRuntimeApiException>(() => _client.PostResponseAsync("never-handed-out", "{}"u8.ToArray(), CancellationToken.None));

        Assert.Equal(400, refused.StatusCode);
        Assert.False(refused.IsFatal);
    }

    private sealed class DelegateHook(Func<LambdaInvocation, CancellationToken, Task> onEnd) : IInvocationEndHook
    {
        public Task OnInvocationEndAsync(LambdaInvocation invocation, CancellationToken cancellationToken) => onEnd(invocation, cancellationToken);
    }

    private sealed class DelegateHandler(Func<LambdaInvocation, CancellationToken, Task<ReadOnlyMemory<byte>>> handle) : ILambdaHandler
    {
        public Task<ReadOnlyMemory<byte>> HandleAsync(LambdaInvocation invocation, CancellationToken cancellationToken) => handle(invocation, cancellationToken);
    }
}
