using System.Buffers;
using System.Diagnostics;
using System.Globalization;
using System.Reflection;
using System.Security.Cryptography;
using System.Text.Json;
using Microsoft.Extensions.Logging;
using Microsoft.Extensions.Logging.Abstractions;
using Serverless.Inference.Hosting;
using Serverless.Inference.Repository;
using Serverless.Inference.Runtime;
using Serverless.Inference.Serving;
using Serverless.Inference.Telemetry;

namespace Serverless.Inference.Protocol;

/// <summary>
/// The Open Inference Protocol (KServe v2 REST) over any transport: routes, status codes, JSON and the
/// binary tensor data extension. Adapters only translate their platform's request and response.
/// </summary>
public sealed partial class OpenInferenceHandler
{
    internal const string ServerName = "serverless-inference";

    private static readonly string ServerVersion =
        typeof(OpenInferenceHandler).Assembly.GetCustomAttribute<AssemblyInformationalVersionAttribute>()?.InformationalVersion.Split('+')[0] ?? "0.0.0";

    private readonly ModelHost _host;
    private readonly InferenceRunner _runner;
    private readonly RequestLimits _limits;
    private readonly RepositoryReadiness _readiness;
    private readonly RepositoryRoutes _repository;
    private readonly ILogger _logger;

    public OpenInferenceHandler(ModelHost host, RequestLimits limits, ILogger<OpenInferenceHandler>? logger = null, TimeProvider? time = null)
    {
        _host = host;
        _runner = new InferenceRunner(host);
        _limits = limits;
        _readiness = new RepositoryReadiness(host.Store, time ?? TimeProvider.System);
        _logger = logger ?? (ILogger)NullLogger.Instance;
        _repository = new RepositoryRoutes(host, limits, _logger);
    }

    public ModelHost Host => _host;

    public async Task<OipHttpResponse> HandleAsync(OipHttpRequest request, CancellationToken cancellationToken)
    {
        ArgumentNullException.ThrowIfNull(request);
        var response = await RouteAsync(request, cancellationToken).ConfigureAwait(false);
        return ResponseEncoder.Encode(response, request.GetHeader("Accept-Encoding"));
    }

    private async Task<OipHttpResponse> RouteAsync(OipHttpRequest request, CancellationToken cancellationToken)
    {
        var route = Route.Parse(request.Path);
        try
        {
            return route.Kind switch
            {
                RouteKind.ServerMetadata => RequireGet(request, route) ?? ServerMetadata(),
                RouteKind.Live => RequireGet(request, route) ?? Json(200, w => w.WriteBoolean("live"u8, true)),
                RouteKind.Ready => RequireGet(request, route) ?? await ServerReadyAsync(request, cancellationToken).ConfigureAwait(false),
                RouteKind.ModelMetadata => RequireGet(request, route) ?? await ModelMetadataAsync(route, cancellationToken).ConfigureAwait(false),
                RouteKind.ModelReady => RequireGet(request, route) ?? await ModelReadyAsync(request, route, cancellationToken).ConfigureAwait(false),
                RouteKind.ModelConfig => RequireGet(request, route) ?? await ModelConfigAsync(route, cancellationToken).ConfigureAwait(false),
                RouteKind.Statistics => RequireGet(request, route) ?? await StatisticsAsync(route, cancellationToken).ConfigureAwait(false),
                RouteKind.Infer => await InferAsync(request, route, cancellationToken).ConfigureAwait(false),
                RouteKind.RepositoryIndex or RouteKind.RepositoryLoad or RouteKind.RepositoryUnload =>
                    await RepositoryAsync(request, route, cancellationToken).ConfigureAwait(false),
                RouteKind.InvalidName => Error(400, route.Problem!),
                _ => Error(404, $"no such route: {request.Method} {ModelNames.Printable(request.Path)}"),
            };
        }
        catch (InferenceException e) when (e.Kind == InferenceErrorKind.TooManyRequests)
        {
            var busy = Error(429, e.Message);
            return busy.WithHeaders([new("Retry-After", "1")]);
        }
        catch (InferenceException e) when (e.Kind == InferenceErrorKind.UnsupportedMediaType)
        {
            return Error(415, e.Message).WithHeaders([new("Accept-Encoding", ContentCodings.Supported)]);
        }
        catch (InferenceException e)
        {
            return Error(StatusOf(e.Kind), CallerMessage(e, request));
        }
        catch (OperationCanceledException) when (cancellationToken.IsCancellationRequested)
        {
            return Error(StatusOf(InferenceErrorKind.Cancelled), "the request was cancelled or ran past its deadline");
        }
#pragma warning disable CA1031 // The host must answer every request; the cause goes to the log, not the caller.
        catch (Exception e)
#pragma warning restore CA1031
        {
            var errorId = NewErrorId();
            LogUnhandled(_logger, e, request.Method, ModelNames.Printable(request.Path), errorId);
            return Error(500, $"internal error (error id {errorId}); the server log has the details");
        }
    }

    /// <summary>
    /// The caller's message. A server-side failure, or one with a <see cref="InferenceException.Detail"/> the caller
    /// must not see, is logged with a fresh error id that the message carries, so an operator can find the detail.
    /// </summary>
    private string CallerMessage(InferenceException e, OipHttpRequest request)
    {
        var status = StatusOf(e.Kind);
        if (status < 500 && e.Detail is null)
        {
            return e.Message;
        }

        var errorId = NewErrorId();
        var level = status >= 500 ? LogLevel.Warning : LogLevel.Information;
        if (_logger.IsEnabled(level))
        {
            var path = ModelNames.Printable(request.Path);
            LogAnswered(
                _logger,
                level,
                e.InnerException,
                request.Method,
                path,
                status,
                errorId,
                e.Message,
                e.Detail ?? e.InnerException?.Message);
        }

        return $"{e.Message} (error id {errorId})";
    }

    private static string NewErrorId() => Convert.ToHexStringLower(RandomNumberGenerator.GetBytes(6));

    internal static int StatusOf(InferenceErrorKind kind) => kind switch
    {
        InferenceErrorKind.BadRequest => 400,
        InferenceErrorKind.NotFound => 404,
        InferenceErrorKind.MethodNotAllowed => 405,
        InferenceErrorKind.PayloadTooLarge => 413,
        InferenceErrorKind.RequestTimeout => 408,
        InferenceErrorKind.TooManyRequests => 429,
        InferenceErrorKind.Unavailable => 503,
        InferenceErrorKind.Cancelled => 504,
        InferenceErrorKind.UnsupportedMediaType => 415,
        _ => 500,
    };

    public static OipHttpResponse Error(int status, string message) =>
        Json(status, w => w.WriteString("error"u8, message));

    private static OipHttpResponse? RequireGet(OipHttpRequest request, Route route) =>
        request.Method is "GET" or "HEAD" ? null : MethodNotAllowed(request, route, "GET");

    private static OipHttpResponse MethodNotAllowed(OipHttpRequest request, Route route, string allowed)
    {
        var response = Error(405, $"{request.Method} is not allowed on {ModelNames.Printable(request.Path)}; use {allowed}");
        return response.WithHeaders([new("Allow", allowed)]);
    }

    private static OipHttpResponse ServerMetadata() => Json(200, w =>
    {
        w.WriteString("name"u8, ServerName);
        w.WriteString("version"u8, ServerVersion);
        w.WriteStartArray("extensions"u8);
        w.WriteStringValue("binary_tensor_data"u8);
        w.WriteStringValue("model_configuration"u8);
        w.WriteStringValue("model_repository"u8);
        w.WriteStringValue("statistics"u8);
        w.WriteEndArray();
    });

    private async Task<OipHttpResponse> ServerReadyAsync(OipHttpRequest request, CancellationToken cancellationToken)
    {
        var problem = await _readiness.CheckAsync(cancellationToken).ConfigureAwait(false);
        return problem is null
            ? Json(200, w => w.WriteBoolean("ready"u8, true))
            : Json(503, w =>
            {
                w.WriteBoolean("ready"u8, false);
                w.WriteString("error"u8, CallerMessage(problem, request));
            });
    }

    private async Task<OipHttpResponse> ModelMetadataAsync(Route route, CancellationToken cancellationToken)
    {
        using var lease = await _host.AcquireAsync(route.Model!, route.Version, cancellationToken).ConfigureAwait(false);
        var versions = await _host.ListVersionsAsync(lease.Name, cancellationToken).ConfigureAwait(false);
        var signature = lease.Endpoint.Signature;
        return Json(200, w =>
        {
            w.WriteString("name"u8, lease.Name);
            w.WriteStartArray("versions"u8);
            foreach (var version in versions)
            {
                w.WriteStringValue(version);
            }

            w.WriteEndArray();
            w.WriteString("platform"u8, lease.Manifest.Platform);
            WriteTensors(w, "inputs"u8, signature.Inputs);
            WriteTensors(w, "outputs"u8, signature.Outputs);
            if (!ReferenceEquals(lease.Endpoint, lease.Model))
            {
                // With a pipeline on, the model's own tensors still work: a request that sends them skips the pipeline.
                WriteTensors(w, "raw_inputs"u8, lease.Model.Signature.Inputs);
                WriteTensors(w, "raw_outputs"u8, lease.Model.Signature.Outputs);
            }

            w.WriteStartObject("parameters"u8);
            w.WriteString("version"u8, lease.Version);
            w.WriteString("identity"u8, lease.Identity);
            w.WriteNumber("max_batch_size"u8, lease.Manifest.MaxBatchSize);
            if (lease.Manifest.Description is { } description)
            {
                w.WriteString("description"u8, description);
            }

            w.WriteEndObject();
        });
    }

    private async Task<OipHttpResponse> ModelConfigAsync(Route route, CancellationToken cancellationToken)
    {
        using var lease = await _host.AcquireAsync(route.Model!, route.Version, cancellationToken).ConfigureAwait(false);
        return Json(200, w => ModelConfigWriter.Write(w, lease));
    }

    private async Task<OipHttpResponse> StatisticsAsync(Route route, CancellationToken cancellationToken)
    {
        IReadOnlyList<ModelStatistics> models;
        if (route.Model is not { } name)
        {
            models = _host.Statistics.Of(null, null);
        }
        else
        {
            // A known version nobody has asked for yet answers zeros, as a loaded but idle Triton model does.
            var versions = route.Version is { } version
                ? [await _host.ResolveVersionAsync(name, version, cancellationToken).ConfigureAwait(false)]
                : await _host.ListVersionsAsync(name, cancellationToken).ConfigureAwait(false);
            models = [.. versions.Select(v => _host.Statistics.For(name, v))];
        }

        return Json(200, w => StatisticsWriter.Write(w, models));
    }

    private async Task<OipHttpResponse> RepositoryAsync(OipHttpRequest request, Route route, CancellationToken cancellationToken)
    {
        if (request.Method != "POST")
        {
            return MethodNotAllowed(request, route, "POST");
        }

        var (buffer, length) = await RequestBodyReader.ReadAsync(request, _limits.MaxRequestBytes, cancellationToken).ConfigureAwait(false);
        try
        {
            var body = buffer.AsMemory(0, length);
            return route.Kind switch
            {
                RouteKind.RepositoryLoad => await _repository.LoadAsync(route.Model!, body, cancellationToken).ConfigureAwait(false),
                RouteKind.RepositoryUnload => await _repository.UnloadAsync(route.Model!, body, cancellationToken).ConfigureAwait(false),
                _ => await _repository.IndexAsync(body, cancellationToken).ConfigureAwait(false),
            };
        }
        finally
        {
            ArrayPool<byte>.Shared.Return(buffer);
        }
    }

    private static void WriteTensors(Utf8JsonWriter w, ReadOnlySpan<byte> property, IReadOnlyList<TensorSpec> tensors)
    {
        w.WriteStartArray(property);
        foreach (var tensor in tensors)
        {
            w.WriteStartObject();
            w.WriteString("name"u8, tensor.Name);
            w.WriteString("datatype"u8, tensor.DataType.ToProtocolName());
            w.WriteStartArray("shape"u8);
            foreach (var dimension in tensor.Shape)
            {
                w.WriteNumberValue(dimension);
            }

            w.WriteEndArray();
            w.WriteEndObject();
        }

        w.WriteEndArray();
    }

    private async Task<OipHttpResponse> ModelReadyAsync(OipHttpRequest request, Route route, CancellationToken cancellationToken)
    {
        try
        {
            using var lease = await _host.AcquireAsync(route.Model!, route.Version, cancellationToken).ConfigureAwait(false);
            return Json(200, w =>
            {
                w.WriteString("name"u8, lease.Name);
                w.WriteString("version"u8, lease.Version);
                w.WriteBoolean("ready"u8, true);
            });
        }
        catch (InferenceException e) when (e.Kind == InferenceErrorKind.Unavailable)
        {
            return Json(503, w =>
            {
                w.WriteString("name"u8, route.Model);
                w.WriteBoolean("ready"u8, false);
                w.WriteString("error"u8, CallerMessage(e, request));
            });
        }
    }

    private async Task<OipHttpResponse> InferAsync(OipHttpRequest request, Route route, CancellationToken cancellationToken)
    {
        if (request.Method != "POST")
        {
            return MethodNotAllowed(request, route, "POST");
        }

        var timeline = new RequestTimeline();
        using var activity = InferenceTelemetry.Source.StartActivity("infer");
        activity?.SetTag("model.name", route.Model);
        var status = 500;
        string? version = null;
        try
        {
            var response = await RunInferenceAsync(request, route, v => version = v, timeline, cancellationToken).ConfigureAwait(false);
            status = response.StatusCode;
            return response;
        }
        catch (InferenceException e)
        {
            status = StatusOf(e.Kind);
            throw;
        }
        catch (OperationCanceledException) when (cancellationToken.IsCancellationRequested)
        {
            // Answered as 504 by HandleAsync; counting it as the initial 500 would report the caller's cancellation as a server fault.
            status = StatusOf(InferenceErrorKind.Cancelled);
            throw;
        }
        finally
        {
            activity?.SetTag("model.version", version);
            activity?.SetTag("http.response.status_code", status);
            TagList tags = new() { { "model.name", route.Model }, { "model.version", version }, { "status", status } };
            InferenceTelemetry.Requests.Add(1, tags);
            var answered = Stopwatch.GetTimestamp();
            InferenceTelemetry.RequestDuration.Record(Stopwatch.GetElapsedTime(timeline.Received, answered).TotalSeconds, tags);
            if (version is not null)
            {
                _host.Statistics.For(route.Model!, version).RecordRequest(timeline, status < 400, answered);
            }

            if (status < 400)
            {
                InferenceTelemetry.RequestCompleted("infer");
            }
        }
    }

    private async Task<OipHttpResponse> RunInferenceAsync(
        OipHttpRequest request, Route route, Action<string> onVersion, RequestTimeline timeline, CancellationToken cancellationToken)
    {
        var (buffer, length) = await RequestBodyReader.ReadAsync(request, _limits.MaxRequestBytes, cancellationToken).ConfigureAwait(false);
        try
        {
            var headerLength = HeaderLength(request, length);
            using var inferRequest = InferRequestReader.Read(buffer.AsSpan(0, headerLength), buffer.AsSpan(headerLength, length - headerLength), _limits);
            ArrayPool<byte>.Shared.Return(buffer);
            buffer = [];
            timeline.MarkParsed();

            using var result = await _runner.RunAsync(route.Model!, route.Version, inferRequest, onVersion, cancellationToken, timeline: timeline).ConfigureAwait(false);

            var body = new PooledBufferWriter(16 * 1024);
            try
            {
                var jsonLength = InferResponseWriter.Write(body, result.ModelName, result.Version, inferRequest, result.Outputs);
                return jsonLength == body.WrittenCount
                    ? new OipHttpResponse(200, OipHeaders.Json, body, [])
                    : new OipHttpResponse(200, OipHeaders.Binary, body, [new(OipHeaders.InferenceHeaderContentLength, jsonLength.ToString(CultureInfo.InvariantCulture))]);
            }
            catch
            {
                body.Dispose();
                throw;
            }
        }
        finally
        {
            if (buffer.Length > 0)
            {
                ArrayPool<byte>.Shared.Return(buffer);
            }
        }
    }

    private static int HeaderLength(OipHttpRequest request, int bodyLength)
    {
        var header = request.GetHeader(OipHeaders.InferenceHeaderContentLength);
        if (header is null)
        {
            return bodyLength;
        }

        if (!int.TryParse(header, NumberStyles.None, CultureInfo.InvariantCulture, out var length))
        {
            throw InferenceException.BadRequest($"{OipHeaders.InferenceHeaderContentLength} must be a non-negative integer, not '{ModelNames.Printable(header)}'");
        }

        return length <= bodyLength
            ? length
            : throw InferenceException.BadRequest($"{OipHeaders.InferenceHeaderContentLength} is {length} but the body has only {bodyLength} bytes");
    }

    private static OipHttpResponse Json(int status, Action<Utf8JsonWriter> writeProperties)
    {
        var body = new PooledBufferWriter(512);
        using (var writer = new Utf8JsonWriter(body, InferResponseWriter.WriterOptions))
        {
            writer.WriteStartObject();
            writeProperties(writer);
            writer.WriteEndObject();
        }

        return new OipHttpResponse(status, OipHeaders.Json, body, []);
    }

    [LoggerMessage(Level = LogLevel.Error, Message = "Unhandled error on {Method} {Path} (error id {ErrorId})")]
    private static partial void LogUnhandled(ILogger logger, Exception exception, string method, string path, string errorId);

    // The level is chosen per call: Warning for a 5xx, Information otherwise.
    [LoggerMessage(Message = "{Method} {Path} answered {Status} (error id {ErrorId}): {Message}; {Detail}")]
    private static partial void LogAnswered(ILogger logger, LogLevel level, Exception? exception, string method, string path, int status, string errorId, string message, string? detail);

    private enum RouteKind
    {
        NotFound,
        InvalidName,
        ServerMetadata,
        Live,
        Ready,
        ModelMetadata,
        ModelReady,
        ModelConfig,
        Statistics,
        Infer,
        RepositoryIndex,
        RepositoryLoad,
        RepositoryUnload,
    }

    private sealed record Route(RouteKind Kind, string? Model = null, string? Version = null, string? Problem = null)
    {
        public static Route Parse(string path)
        {
            var segments = path.Split('/', StringSplitOptions.RemoveEmptyEntries);
            if (segments is not ["v2", ..])
            {
                return new Route(RouteKind.NotFound);
            }

            return segments switch
            {
                ["v2"] => new Route(RouteKind.ServerMetadata),
                ["v2", "health", "live"] => new Route(RouteKind.Live),
                ["v2", "health", "ready"] => new Route(RouteKind.Ready),
                // Before the model routes, as Triton does: /v2/models/stats is the statistics of every model.
                ["v2", "models", "stats"] => new Route(RouteKind.Statistics),
                ["v2", "models", var m, "stats"] => ForModel(RouteKind.Statistics, m, null),
                ["v2", "models", var m, "versions", var v, "stats"] => ForModel(RouteKind.Statistics, m, v),
                ["v2", "models", var m] => ForModel(RouteKind.ModelMetadata, m, null),
                ["v2", "models", var m, "ready"] => ForModel(RouteKind.ModelReady, m, null),
                ["v2", "models", var m, "infer"] => ForModel(RouteKind.Infer, m, null),
                ["v2", "models", var m, "config"] => ForModel(RouteKind.ModelConfig, m, null),
                ["v2", "models", var m, "versions", var v] => ForModel(RouteKind.ModelMetadata, m, v),
                ["v2", "models", var m, "versions", var v, "ready"] => ForModel(RouteKind.ModelReady, m, v),
                ["v2", "models", var m, "versions", var v, "infer"] => ForModel(RouteKind.Infer, m, v),
                ["v2", "models", var m, "versions", var v, "config"] => ForModel(RouteKind.ModelConfig, m, v),
                ["v2", "repository", "index"] => new Route(RouteKind.RepositoryIndex),
                ["v2", "repository", "models", var m, "load"] => ForModel(RouteKind.RepositoryLoad, m, null),
                ["v2", "repository", "models", var m, "unload"] => ForModel(RouteKind.RepositoryUnload, m, null),
                ["v2", "models", var m, ..] when !ModelNames.IsValid(m) => ForModel(RouteKind.NotFound, m, null),
                _ => new Route(RouteKind.NotFound),
            };
        }

        private static Route ForModel(RouteKind kind, string model, string? version) =>
            !ModelNames.IsValid(model) ? Invalid("model name", model)
            : version is not null && !ModelNames.IsValid(version) ? Invalid("model version", version)
            : new Route(kind, model, version);

        private static Route Invalid(string what, string value) =>
            new(RouteKind.InvalidName, Problem: $"invalid {what} '{ModelNames.Printable(value)}': it must match {ModelNames.Rule} and not contain '..'");
    }
}
