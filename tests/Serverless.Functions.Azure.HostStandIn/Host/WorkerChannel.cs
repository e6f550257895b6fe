using System.Collections.Concurrent;
using System.Diagnostics;
using System.Threading.Channels;
using Google.Protobuf.WellKnownTypes;
using Grpc.Core;
using Microsoft.Azure.WebJobs.Script.Grpc.Messages;

namespace Serverless.Functions.Azure.HostStandIn.Host;

/// <summary>
/// One worker process and its stream, driven the way the Functions host drives a .NET isolated worker: wait for
/// <c>StartStream</c>, send <c>WorkerInitRequest</c> (the answer's capabilities carry <c>HttpUri</c>, the worker's
/// own HTTP listener under the ASP.NET Core integration), <c>FunctionsMetadataRequest</c> (worker indexing: the
/// worker reads its functions.metadata), one <c>FunctionLoadRequest</c> per function, and for an HTTP call both the
/// proxied request (header <c>x-ms-invocation-id</c>) and an <c>InvocationRequest</c> whose trigger input is an empty
/// <c>RpcHttp</c>, as the host sends when the worker proxies HTTP. Every request carries a request id the worker echoes
/// in its answer. Times are measured from the moment the process is started.
/// </summary>
internal sealed class WorkerChannel : IAsyncDisposable
{
    public const string HttpUriCapability = "HttpUri";
    public const string InvocationIdHeader = "x-ms-invocation-id";
    private const int OutputLinesKept = 200;

    private readonly Stopwatch _clock = new();
    private readonly Process _process;
    private readonly string _appDirectory;
    private readonly Action<WorkerChannel> _onDisposed;
    private readonly Channel<StreamingMessage> _outbound = Channel.CreateUnbounded<StreamingMessage>(new UnboundedChannelOptions { SingleReader = true });
    private readonly ConcurrentDictionary<string, TaskCompletionSource<StreamingMessage>> _pending = new(StringComparer.Ordinal);
    private readonly TaskCompletionSource<TimeSpan> _connected = new(TaskCreationOptions.RunContinuationsAsynchronously);
    private readonly TaskCompletionSource _exited = new(TaskCreationOptions.RunContinuationsAsynchronously);
    private readonly CancellationTokenSource _stop = new();
    private readonly ConcurrentQueue<WorkerLog> _logs = new();
    private readonly ConcurrentQueue<string> _output = new();
    private readonly Dictionary<string, LoadedFunction> _functions = new(StringComparer.Ordinal);
    private readonly HttpClient _http = new(new ProxyRetryHandler(new SocketsHttpHandler { UseProxy = false })) { Timeout = TimeSpan.FromMinutes(5) };
    private Uri? _httpUri;
    private bool _started;

    public WorkerChannel(string workerId, ProcessStartInfo start, string appDirectory, Action<WorkerChannel> onDisposed)
    {
        WorkerId = workerId;
        _appDirectory = appDirectory;
        _onDisposed = onDisposed;
        _process = new Process { StartInfo = start, EnableRaisingEvents = true };
        _process.OutputDataReceived += (_, e) => Remember(e.Data);
        _process.ErrorDataReceived += (_, e) => Remember(e.Data);
        _process.Exited += (_, _) => _exited.TrySetResult();
    }

    public string WorkerId { get; }

    /// <summary>Time since the worker process was started.</summary>
    public TimeSpan Elapsed => _clock.Elapsed;

    /// <summary>When the worker's <c>StartStream</c> arrived, from its process start.</summary>
    public Task<TimeSpan> Connected => _connected.Task;

    /// <summary>The worker's HTTP listener, from its init response.</summary>
    public Uri HttpUri => _httpUri ?? throw new InvalidOperationException("the worker is not initialised yet");

    public IReadOnlyCollection<LoadedFunction> Functions => _functions.Values;

    public IReadOnlyCollection<WorkerLog> Logs => _logs;

    /// <summary>The worker's last lines of standard output and error, which the host would log.</summary>
    public string Output => string.Join('\n', _output);

    public void Start()
    {
        _clock.Start();
        _started = _process.Start();
        if (!_started)
        {
            throw new WorkerProtocolException($"{_process.StartInfo.FileName} did not start");
        }

        _process.BeginOutputReadLine();
        _process.BeginErrorReadLine();
    }

    /// <summary>Waits for the worker to call back, then sends WorkerInitRequest; returns the worker's capabilities.</summary>
    public async Task<IReadOnlyDictionary<string, string>> InitializeAsync(CancellationToken cancellationToken)
    {
        if (await Task.WhenAny(_connected.Task, _exited.Task).WaitAsync(cancellationToken).ConfigureAwait(false) != _connected.Task)
        {
            throw Exited();
        }

        var request = new WorkerInitRequest
        {
            HostVersion = "4.0.0-stand-in",
            WorkerDirectory = _appDirectory,
            FunctionAppDirectory = _appDirectory,
        };
        var response = (await SendAsync(new StreamingMessage { WorkerInitRequest = request }, cancellationToken).ConfigureAwait(false)).WorkerInitResponse
            ?? throw new WorkerProtocolException("the worker answered WorkerInitRequest with another message");
        EnsureSuccess(response.Result, "WorkerInitRequest");
        if (response.Capabilities.TryGetValue(HttpUriCapability, out var httpUri))
        {
            _httpUri = new Uri(httpUri, UriKind.Absolute);
        }

        return response.Capabilities.ToDictionary(StringComparer.Ordinal);
    }

    /// <summary>FunctionsMetadataRequest, then a FunctionLoadRequest for each function the worker indexed, all sent before any answer is awaited.</summary>
    public async Task<IReadOnlyCollection<LoadedFunction>> LoadFunctionsAsync(CancellationToken cancellationToken)
    {
        var metadata = (await SendAsync(new StreamingMessage { FunctionsMetadataRequest = new FunctionsMetadataRequest { FunctionAppDirectory = _appDirectory } }, cancellationToken)
                .ConfigureAwait(false)).FunctionMetadataResponse
            ?? throw new WorkerProtocolException("the worker answered FunctionsMetadataRequest with another message");
        EnsureSuccess(metadata.Result, "FunctionsMetadataRequest");
        if (metadata.UseDefaultMetadataIndexing || metadata.FunctionMetadataResults.Count == 0)
        {
            throw new WorkerProtocolException("the worker indexed no functions (or asked the host to index them, which this stand-in does not)");
        }

        var loads = metadata.FunctionMetadataResults.Select(function => LoadAsync(function, cancellationToken)).ToList();
        foreach (var loaded in await Task.WhenAll(loads).ConfigureAwait(false))
        {
            _functions[loaded.Name] = loaded;
        }

        return _functions.Values;
    }

    private async Task<LoadedFunction> LoadAsync(RpcFunctionMetadata indexed, CancellationToken cancellationToken)
    {
        var metadata = new RpcFunctionMetadata
        {
            FunctionId = indexed.FunctionId,
            Name = indexed.Name,
            Directory = _appDirectory,
            ScriptFile = indexed.ScriptFile,
            EntryPoint = indexed.EntryPoint,
            Language = indexed.Language,
            IsProxy = false,
        };
        metadata.Bindings.Add(indexed.Bindings);
        metadata.RawBindings.Add(indexed.RawBindings);
        var request = new FunctionLoadRequest { FunctionId = indexed.FunctionId, Metadata = metadata };
        var response = (await SendAsync(new StreamingMessage { FunctionLoadRequest = request }, cancellationToken).ConfigureAwait(false)).FunctionLoadResponse
            ?? throw new WorkerProtocolException($"the worker answered FunctionLoadRequest for {indexed.Name} with another message");
        EnsureSuccess(response.Result, $"FunctionLoadRequest for {indexed.Name}");
        return new LoadedFunction(indexed.FunctionId, indexed.Name, indexed.Bindings.ToDictionary(StringComparer.Ordinal));
    }

    /// <summary>
    /// Invokes an HTTP-triggered function the way the host does for a worker that proxies HTTP: the request is forwarded
    /// to the worker's listener first, then the InvocationRequest is sent; the answer is the worker's HTTP response.
    /// The host picks the function by route; here the caller names it.
    /// </summary>
    public async Task<HttpInvocationResult> InvokeHttpAsync(string functionName, HttpMethod method, string pathAndQuery, HttpContent? content, CancellationToken cancellationToken)
    {
        if (!_functions.TryGetValue(functionName, out var function) || function.HttpTriggerBinding is not { } binding)
        {
            throw new ArgumentException($"no loaded HTTP-triggered function is named '{functionName}'", nameof(functionName));
        }

        var invocationId = Guid.NewGuid().ToString();
        using var request = new HttpRequestMessage(method, new Uri(HttpUri, pathAndQuery)) { Content = content };
        request.Headers.Add(InvocationIdHeader, invocationId);
        var forwarding = _http.SendAsync(request, cancellationToken);

        var invocation = new InvocationRequest
        {
            InvocationId = invocationId,
            FunctionId = function.Id,
            TraceContext = new RpcTraceContext { TraceParent = "", TraceState = "" },
        };
        invocation.InputData.Add(new ParameterBinding { Name = binding, Data = new TypedData { Http = new RpcHttp() } });
        var answer = (await SendAsync(new StreamingMessage { InvocationRequest = invocation }, cancellationToken).ConfigureAwait(false)).InvocationResponse
            ?? throw new WorkerProtocolException("the worker answered InvocationRequest with another message");

        using var response = await forwarding.ConfigureAwait(false);
        var body = await response.Content.ReadAsStringAsync(cancellationToken).ConfigureAwait(false);
        return new HttpInvocationResult(
            (int)response.StatusCode,
            response.Content.Headers.ContentType?.MediaType ?? "",
            body,
            answer.Result.Status.ToString(),
            answer.Result.Exception?.Message);
    }

    /// <summary>The worker's side of EventStream, from the gRPC service: writes what this channel sends, routes what the worker sends.</summary>
    public async Task RunStreamAsync(IAsyncStreamReader<StreamingMessage> requestStream, IServerStreamWriter<StreamingMessage> responseStream, CancellationToken callCancelled)
    {
        using var stop = CancellationTokenSource.CreateLinkedTokenSource(callCancelled, _stop.Token);
        _connected.TrySetResult(_clock.Elapsed);
        var writing = WriteAsync(responseStream, stop.Token);
        try
        {
            while (await requestStream.MoveNext(stop.Token).ConfigureAwait(false))
            {
                Receive(requestStream.Current);
            }
        }
        catch (OperationCanceledException) when (stop.IsCancellationRequested)
        {
            // The channel was disposed or the call ended: the stream closes with it.
        }
        finally
        {
            await stop.CancelAsync().ConfigureAwait(false);
            await writing.ConfigureAwait(false);
        }
    }

    private async Task WriteAsync(IServerStreamWriter<StreamingMessage> responseStream, CancellationToken cancellationToken)
    {
        try
        {
            await foreach (var message in _outbound.Reader.ReadAllAsync(cancellationToken).ConfigureAwait(false))
            {
                await responseStream.WriteAsync(message, cancellationToken).ConfigureAwait(false);
            }
        }
        catch (OperationCanceledException) when (cancellationToken.IsCancellationRequested)
        {
            // Closing.
        }
    }

    private void Receive(StreamingMessage message)
    {
        if (message.ContentCase == StreamingMessage.ContentOneofCase.RpcLog)
        {
            var log = message.RpcLog;
            _logs.Enqueue(new WorkerLog(_clock.Elapsed, log.Category, log.Level.ToString(), log.Message));
            return;
        }

        if (!string.IsNullOrEmpty(message.RequestId) && _pending.TryRemove(message.RequestId, out var waiter))
        {
            waiter.TrySetResult(message);
        }
    }

    private async Task<StreamingMessage> SendAsync(StreamingMessage request, CancellationToken cancellationToken)
    {
        request.RequestId = Guid.NewGuid().ToString();
        var answer = new TaskCompletionSource<StreamingMessage>(TaskCreationOptions.RunContinuationsAsynchronously);
        _pending[request.RequestId] = answer;
        await _outbound.Writer.WriteAsync(request, cancellationToken).ConfigureAwait(false);
        var first = await Task.WhenAny(answer.Task, _exited.Task).WaitAsync(cancellationToken).ConfigureAwait(false);
        return first == answer.Task ? await answer.Task.ConfigureAwait(false) : throw Exited();
    }

    private void EnsureSuccess(StatusResult result, string request)
    {
        if (result.Status != StatusResult.Types.Status.Success)
        {
            throw new WorkerProtocolException($"{request} failed ({result.Status}): {result.Exception?.Message}\n{Output}");
        }
    }

    private WorkerProtocolException Exited()
    {
        // Waiting again lets the output readers reach the end of the streams, so the message holds the last lines.
        _process.WaitForExit();
        return new WorkerProtocolException($"the worker exited (code {_process.ExitCode}) before answering:\n{Output}");
    }

    private void Remember(string? line)
    {
        if (line is null)
        {
            return;
        }

        _output.Enqueue(line);
        while (_output.Count > OutputLinesKept)
        {
            _output.TryDequeue(out _);
        }
    }

    /// <summary>WorkerTerminate with a grace period, as the host sends on shutdown; the process is killed if it outstays it.</summary>
    public async ValueTask DisposeAsync()
    {
        _onDisposed(this);
        try
        {
            if (_started && _connected.Task.IsCompleted && !_process.HasExited)
            {
                _outbound.Writer.TryWrite(new StreamingMessage { WorkerTerminate = new WorkerTerminate { GracePeriod = Duration.FromTimeSpan(TimeSpan.FromSeconds(5)) } });
                await _exited.Task.WaitAsync(TimeSpan.FromSeconds(10)).ConfigureAwait(false);
            }
        }
        catch (TimeoutException)
        {
            // Killed below.
        }
        finally
        {
            if (_started && !_process.HasExited)
            {
                _process.Kill(entireProcessTree: true);
                await _process.WaitForExitAsync().ConfigureAwait(false);
            }

            _outbound.Writer.TryComplete();
            await _stop.CancelAsync().ConfigureAwait(false);
            _stop.Dispose();
            _http.Dispose();
            _process.Dispose();
        }
    }
}
