using System.Collections.Concurrent;
using System.Globalization;
using System.Threading.Channels;
using Microsoft.AspNetCore.Builder;
using Microsoft.AspNetCore.Hosting;
using Microsoft.AspNetCore.Http;
using Microsoft.Extensions.Logging;

namespace Serverless.Functions.Aws.Tests.Support;

/// <summary>What a function posted for one invocation.</summary>
public sealed record PostedAnswer(string RequestId, string Kind, string? ContentType, string? ErrorType, byte[] Body)
{
    public JsonElement Json => JsonDocument.Parse(Body).RootElement;
}

/// <summary>
/// The Lambda Runtime API (version 2018-06-01, the endpoints a custom runtime calls), on 127.0.0.1 and a free port: next hands
/// out queued events with request id, deadline and trace headers; response/error answer 202 once, 403 for a second
/// post to the same id, 400 for an id it never handed out; init/error answers 202.
/// </summary>
public sealed class RuntimeApiServer : IAsyncDisposable
{
    private readonly WebApplication _app;
    private readonly Channel<Invocation> _queue = Channel.CreateUnbounded<Invocation>();
    private readonly ConcurrentDictionary<string, Invocation> _handedOut = new();
    private readonly TaskCompletionSource<PostedAnswer> _initError = new(TaskCreationOptions.RunContinuationsAsynchronously);
    private readonly ConcurrentQueue<int> _answerStatuses = new();

    private RuntimeApiServer(WebApplication app, int port)
    {
        _app = app;
        Endpoint = $"127.0.0.1:{port}";
    }

    /// <summary>The value of AWS_LAMBDA_RUNTIME_API.</summary>
    public string Endpoint { get; }

    /// <summary>When set, next answers with this status instead of an event.</summary>
    public int? NextStatus { get; set; }

    /// <summary>The statuses this server answered response/error posts with, in order.</summary>
    public IReadOnlyCollection<int> AnswerStatuses => _answerStatuses;

    public Task<PostedAnswer> InitError => _initError.Task;

    public static async Task<RuntimeApiServer> StartAsync()
    {
        var port = FreePort.Next();
        var builder = WebApplication.CreateSlimBuilder();
        builder.Logging.ClearProviders();
        builder.WebHost.ConfigureKestrel(kestrel => kestrel.Listen(System.Net.IPAddress.Loopback, port));
        var app = builder.Build();
        var server = new RuntimeApiServer(app, port);
        app.MapGet("/2018-06-01/runtime/invocation/next", server.NextAsync);
        app.MapPost("/2018-06-01/runtime/invocation/{id}/response", (HttpContext context, string id) => server.AnswerAsync(context, id, "response"));
        app.MapPost("/2018-06-01/runtime/invocation/{id}/error", (HttpContext context, string id) => server.AnswerAsync(context, id, "error"));
        app.MapPost("/2018-06-01/runtime/init/error", server.InitErrorAsync);
        await app.StartAsync();
        return server;
    }

    /// <summary>Queues an event; the task completes when the function answers it.</summary>
    public Task<PostedAnswer> InvokeAsync(string eventJson, DateTimeOffset? deadline = null, string? traceId = null)
    {
        var invocation = new Invocation(Guid.NewGuid().ToString(), Encoding.UTF8.GetBytes(eventJson), deadline ?? DateTimeOffset.UtcNow.AddMinutes(1), traceId);
        _handedOut[invocation.RequestId] = invocation;
        _queue.Writer.TryWrite(invocation);
        return invocation.Answer.Task;
    }

    public async ValueTask DisposeAsync()
    {
        _queue.Writer.TryComplete();
        using var patience = new CancellationTokenSource(TimeSpan.FromSeconds(2));
        await _app.StopAsync(patience.Token);
        await _app.DisposeAsync();
    }

    private async Task NextAsync(HttpContext context)
    {
        if (NextStatus is { } status)
        {
            context.Response.StatusCode = status;
            await context.Response.WriteAsync("""{"errorMessage":"test server refuses next","errorType":"TestFailure"}""");
            return;
        }

        Invocation invocation;
        try
        {
            invocation = await _queue.Reader.ReadAsync(context.RequestAborted);
        }
        catch (Exception e) when (e is OperationCanceledException or ChannelClosedException)
        {
            return;
        }

        var headers = context.Response.Headers;
        headers["Lambda-Runtime-Aws-Request-Id"] = invocation.RequestId;
        headers["Lambda-Runtime-Deadline-Ms"] = invocation.Deadline.ToUnixTimeMilliseconds().ToString(CultureInfo.InvariantCulture);
        headers["Lambda-Runtime-Invoked-Function-Arn"] = "arn:aws:lambda:us-east-1:123456789012:function:inference";
        if (invocation.TraceId is not null)
        {
            headers["Lambda-Runtime-Trace-Id"] = invocation.TraceId;
        }

        context.Response.ContentType = "application/json";
        await context.Response.Body.WriteAsync(invocation.Event);
    }

    private async Task AnswerAsync(HttpContext context, string id, string kind)
    {
        using var body = new MemoryStream();
        await context.Request.Body.CopyToAsync(body);
        int status;
        if (!_handedOut.TryGetValue(id, out var invocation))
        {
            status = 400;
        }
        else if (Interlocked.Exchange(ref invocation.Answered, 1) == 1)
        {
            status = 403;
        }
        else
        {
            status = 202;
            invocation.Answer.TrySetResult(new PostedAnswer(
                id,
                kind,
                context.Request.ContentType,
                context.Request.Headers["Lambda-Runtime-Function-Error-Type"].FirstOrDefault(),
                body.ToArray()));
        }

        _answerStatuses.Enqueue(status);
        context.Response.StatusCode = status;
        await context.Response.WriteAsync(status == 202 ? """{"status":"OK"}""" : """{"errorMessage":"refused","errorType":"InvalidRequestID"}""");
    }

    private async Task InitErrorAsync(HttpContext context)
    {
        using var body = new MemoryStream();
        await context.Request.Body.CopyToAsync(body);
        _initError.TrySetResult(new PostedAnswer(
            "init", "init/error", context.Request.ContentType, context.Request.Headers["Lambda-Runtime-Function-Error-Type"].FirstOrDefault(), body.ToArray()));
        context.Response.StatusCode = 202;
        await context.Response.WriteAsync("""{"status":"OK"}""");
    }

    private sealed class Invocation(string requestId, byte[] eventJson, DateTimeOffset deadline, string? traceId)
    {
#pragma warning disable CA1051 // Interlocked needs a field.
        public int Answered;
#pragma warning restore CA1051

        public string RequestId { get; } = requestId;

        public byte[] Event { get; } = eventJson;

        public DateTimeOffset Deadline { get; } = deadline;

        public string? TraceId { get; } = traceId;

        public TaskCompletionSource<PostedAnswer> Answer { get; } = new(TaskCreationOptions.RunContinuationsAsynchronously);
    }
}
