using System.Text.Json;
using Microsoft.AspNetCore.Http;
using Microsoft.Azure.Functions.Worker;
using Microsoft.Extensions.Logging;
using Serverless.Functions.Azure.Streaming;
using Serverless.Inference;
using Serverless.Inference.Batch;
using Serverless.Inference.Repository;
using Serverless.Inference.Streaming;

namespace Serverless.Functions.Azure.Http;

/// <summary>
/// The webhook an Event Grid subscription pushes a stream to: <c>POST /v2/streams/{model}</c> with CloudEvents 1.0
/// (or Event Grid schema) events, each scored with the model, in order, by the core's <see cref="StreamProcessor"/>.
/// Answers Event Grid's handshakes (the CloudEvents OPTIONS request, the Event Grid schema's validation event), and
/// answers a delivery so that Event Grid does the right thing next: 200 when every event is committed; 503 with
/// <c>Retry-After</c> when some are not (Event Grid delivers again, and the events already committed are skipped);
/// 400 or 413 for a body no retry can mend (Event Grid dead-letters it at once). Function key required, as for the
/// protocol routes.
/// </summary>
public sealed partial class StreamFunctions(StreamProcessor processor, DeliveryLedger ledger, StreamWebhookSettings settings, TimeProvider time, ILogger<StreamFunctions> logger)
{
    /// <summary>
    /// Event Grid never sends more in one request: a delivery stops at the preferred batch size (at most 1,024 KB) and an
    /// event is at most 1 MB. The margin covers a lone largest event's array brackets; the body is read up to this and no further.
    /// </summary>
    internal const int MaxBodyBytes = (1 << 20) + (64 << 10);

    /// <summary>Seconds a sender is asked to wait before delivering again (Event Grid keeps its own schedule: 10 s, 30 s, 1 min...).</summary>
    internal const int RetryAfterSeconds = 10;

    [Function(AzureContract.ScoreStreamFunction)]
    public async Task RunAsync(
        [HttpTrigger(AuthorizationLevel.Function, "post", "options", Route = AzureContract.StreamRoute)] HttpRequest request,
        string model,
        CancellationToken cancellationToken)
    {
        ArgumentNullException.ThrowIfNull(request);
        var response = request.HttpContext.Response;
        if (HttpMethods.IsOptions(request.Method))
        {
            await AnswerHandshakeAsync(request, response).ConfigureAwait(false);
            return;
        }

        try
        {
            ModelNames.Require(model, "model name");
        }
        catch (InferenceException e)
        {
            await WriteErrorAsync(response, 400, e.Message).ConfigureAwait(false);
            return;
        }

        var body = await ReadBodyAsync(request, cancellationToken).ConfigureAwait(false);
        if (body is null)
        {
            await WriteErrorAsync(response, 413, $"the body is over {MaxBodyBytes} bytes, more than Event Grid ever delivers at once").ConfigureAwait(false);
            return;
        }

        var validationHeader = string.Equals(request.Headers["aeg-event-type"], "SubscriptionValidation", StringComparison.OrdinalIgnoreCase);
        switch (settings.Reader.Read(body.Value, validationHeader))
        {
            case EventDelivery.Refused refused:
                LogRefused(logger, model, refused.Status, refused.Error);
                await WriteErrorAsync(response, refused.Status, refused.Error).ConfigureAwait(false);
                return;
            case EventDelivery.SubscriptionValidation validation:
                // Replaying it is harmless: the answer is the code it carries, nothing is stored.
                await WriteJsonAsync(response, 200, new ValidationAnswer(validation.Code), StreamJson.Default.ValidationAnswer).ConfigureAwait(false);
                return;
            case EventDelivery.Events delivered:
                await ScoreAsync(response, model, delivered.Items, cancellationToken).ConfigureAwait(false);
                return;
        }
    }

    private async Task ScoreAsync(HttpResponse response, string model, IReadOnlyList<DeliveredEvent> events, CancellationToken cancellationToken)
    {
        try
        {
            var seen = await ledger.SeenAsync(model, events, cancellationToken).ConfigureAwait(false);
            // An id twice in one delivery is one event: the first is scored.
            var fresh = events.Where((_, index) => !seen[index]).DistinctBy(e => (e.Source, e.Id)).ToList();
            var repeats = events.Count - fresh.Count;
            if (fresh.Count == 0)
            {
                await WriteJsonAsync(response, 200, new DeliveryAnswer(events.Count, 0, 0, repeats, 0, null), StreamJson.Default.DeliveryAnswer).ConfigureAwait(false);
                return;
            }

            var arrived = time.GetUtcNow();
            var records = fresh.Select(e => new StreamRecord(e.PartitionKey, e.Id, e.Time ?? arrived, e.Payload, e.DecodeError)).ToList();
            var outcome = await processor.ProcessAsync(new StreamBatch(model, null, fresh[0].Source, records), cancellationToken).ConfigureAwait(false);
            var committed = outcome.FirstUncommitted ?? fresh.Count;
            await ledger.RecordAsync(model, fresh.Take(committed), cancellationToken).ConfigureAwait(false);

            var answer = new DeliveryAnswer(events.Count, outcome.Committed, outcome.RecordErrors, repeats + outcome.Duplicates, outcome.Alerts, outcome.FirstUncommitted is null ? null : outcome.Error ?? "some events were not committed");
            if (outcome.FirstUncommitted is { } first)
            {
                LogUncommitted(logger, model, events.Count, first, answer.Error!);
                response.Headers.RetryAfter = RetryAfterSeconds.ToString(System.Globalization.CultureInfo.InvariantCulture);
                await WriteJsonAsync(response, 503, answer, StreamJson.Default.DeliveryAnswer).ConfigureAwait(false);
                return;
            }

            await WriteJsonAsync(response, 200, answer, StreamJson.Default.DeliveryAnswer).ConfigureAwait(false);
        }
        catch (BatchStoreException e)
        {
            // Storage could not answer (before any run, or while recording ids): nothing is lost, the retry finds what was committed.
            LogStoreFailed(logger, e, model, e.Message, e.Detail);
            response.Headers.RetryAfter = RetryAfterSeconds.ToString(System.Globalization.CultureInfo.InvariantCulture);
            await WriteErrorAsync(response, 503, e.Message).ConfigureAwait(false);
        }
        catch (InferenceException e)
        {
            LogInferenceFailed(logger, e, model, e.Message);
            var status = Status(e.Kind);
            if (status is 429 or 503)
            {
                response.Headers.RetryAfter = RetryAfterSeconds.ToString(System.Globalization.CultureInfo.InvariantCulture);
            }

            await WriteErrorAsync(response, status, e.Message).ConfigureAwait(false);
        }
    }

    /// <summary>
    /// The CloudEvents abuse-protection handshake: the origin asking to deliver is allowed, at any rate. A
    /// <c>WebHook-Request-Callback</c> is not followed (no request leaves for an address a caller named); the response
    /// headers grant the same permission.
    /// </summary>
    private static async Task AnswerHandshakeAsync(HttpRequest request, HttpResponse response)
    {
        var origin = request.Headers["WebHook-Request-Origin"].ToString();
        if (origin.Length == 0 || origin.Length > 253 || origin.Any(c => char.IsControl(c) || char.IsWhiteSpace(c)))
        {
            await WriteErrorAsync(response, 400, "an abuse-protection request names its sender in WebHook-Request-Origin (a host name)").ConfigureAwait(false);
            return;
        }

        response.StatusCode = 200;
        response.Headers["WebHook-Allowed-Origin"] = origin;
        response.Headers["WebHook-Allowed-Rate"] = "*";
        response.Headers.Allow = "POST, OPTIONS";
    }

    /// <summary>The body, or null when it is over <see cref="MaxBodyBytes"/>; never more than that is read.</summary>
    private static async Task<ReadOnlyMemory<byte>?> ReadBodyAsync(HttpRequest request, CancellationToken cancellationToken)
    {
        if (request.ContentLength > MaxBodyBytes)
        {
            return null;
        }

        var buffer = new byte[Math.Min(request.ContentLength ?? 64 * 1024, MaxBodyBytes) + 1];
        var length = 0;
        while (true)
        {
            if (length == buffer.Length)
            {
                if (buffer.Length > MaxBodyBytes)
                {
                    return null;
                }

                Array.Resize(ref buffer, Math.Min(buffer.Length * 2, MaxBodyBytes + 1));
            }

            var read = await request.Body.ReadAsync(buffer.AsMemory(length), cancellationToken).ConfigureAwait(false);
            if (read == 0)
            {
                return buffer.AsMemory(0, length);
            }

            length += read;
        }
    }

    /// <summary>The client's mistakes keep their status; anything else is worth a retry, which Event Grid makes on any 5xx.</summary>
    private static int Status(InferenceErrorKind kind) => kind switch
    {
        InferenceErrorKind.BadRequest => 400,
        InferenceErrorKind.NotFound => 404,
        InferenceErrorKind.PayloadTooLarge => 413,
        InferenceErrorKind.UnsupportedMediaType => 415,
        InferenceErrorKind.TooManyRequests => 429,
        _ => 503,
    };

    private static Task WriteErrorAsync(HttpResponse response, int status, string error) =>
        WriteJsonAsync(response, status, new ErrorAnswer(error), StreamJson.Default.ErrorAnswer);

    private static async Task WriteJsonAsync<T>(HttpResponse response, int status, T value, System.Text.Json.Serialization.Metadata.JsonTypeInfo<T> type)
    {
        response.StatusCode = status;
        response.ContentType = "application/json";
        await response.Body.WriteAsync(JsonSerializer.SerializeToUtf8Bytes(value, type)).ConfigureAwait(false);
    }

    [LoggerMessage(Level = LogLevel.Warning, Message = "Stream delivery for model {Model} refused with {Status}: {Error}")]
    private static partial void LogRefused(ILogger logger, string model, int status, string error);

    [LoggerMessage(Level = LogLevel.Warning, Message = "Stream delivery of {Events} events for model {Model}: events from index {FirstUncommitted} on were not committed, Event Grid delivers them again: {Error}")]
    private static partial void LogUncommitted(ILogger logger, string model, int events, int firstUncommitted, string error);

    [LoggerMessage(Level = LogLevel.Warning, Message = "Stream delivery for model {Model} failed on storage, Event Grid delivers it again: {Error}; {Detail}")]
    private static partial void LogStoreFailed(ILogger logger, Exception exception, string model, string error, string? detail);

    [LoggerMessage(Level = LogLevel.Warning, Message = "Stream delivery for model {Model} failed: {Error}")]
    private static partial void LogInferenceFailed(ILogger logger, Exception exception, string model, string error);
}
