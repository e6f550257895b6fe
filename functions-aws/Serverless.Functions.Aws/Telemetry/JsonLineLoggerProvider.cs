using System.Buffers;
using System.Globalization;
using System.Text.Json;
using Microsoft.Extensions.Logging;

namespace Serverless.Functions.Aws.Telemetry;

/// <summary>
/// Log lines as one JSON object each, as Lambda's JSON log format has them (<c>timestamp</c>, <c>level</c>,
/// <c>message</c>, <c>requestId</c>), with the category, the X-Ray trace id and the message's named values, so
/// CloudWatch Logs Insights filters on fields instead of parsing text. Written synchronously, in order with the metric
/// documents: Lambda may freeze the process right after an invocation, and a queued line would wait for the next one.
/// </summary>
internal sealed class JsonLineLoggerProvider(LineOutput output, TimeProvider time, LogLevel minimum) : ILoggerProvider
{
    private static readonly HashSet<string> Reserved =
        ["timestamp", "level", "message", "category", "requestId", "traceId", "spanId", "errorType", "errorMessage", "stackTrace"];

    public LogLevel Minimum => minimum;

    public ILogger CreateLogger(string categoryName) => new JsonLineLogger(this, categoryName);

    public void Dispose()
    {
    }

    /// <summary>Reads AWS_LAMBDA_LOG_LEVEL (the function's log level setting); Information when unset or unknown.</summary>
    public static LogLevel MinimumFromEnvironment(string? level) => level?.Trim().ToUpperInvariant() switch
    {
        "TRACE" => LogLevel.Trace,
        "DEBUG" => LogLevel.Debug,
        "WARN" => LogLevel.Warning,
        "ERROR" => LogLevel.Error,
        "FATAL" => LogLevel.Critical,
        _ => LogLevel.Information,
    };

    private static string LevelName(LogLevel level) => level switch
    {
        LogLevel.Trace => "TRACE",
        LogLevel.Debug => "DEBUG",
        LogLevel.Information => "INFO",
        LogLevel.Warning => "WARN",
        LogLevel.Error => "ERROR",
        _ => "FATAL",
    };

    private void Write<TState>(string category, LogLevel level, EventId eventId, TState state, Exception? exception, Func<TState, Exception?, string> formatter)
    {
        var buffer = new ArrayBufferWriter<byte>(256);
        using (var json = new Utf8JsonWriter(buffer))
        {
            json.WriteStartObject();
            json.WriteString("timestamp", time.GetUtcNow().UtcDateTime.ToString("yyyy-MM-dd'T'HH:mm:ss.fff'Z'", CultureInfo.InvariantCulture));
            json.WriteString("level", LevelName(level));
            json.WriteString("message", formatter(state, exception));
            json.WriteString("category", category);
            if (eventId.Id != 0)
            {
                json.WriteNumber("eventId", eventId.Id);
            }

            if (InvocationScope.Current is { } invocation)
            {
                json.WriteString("requestId", invocation.RequestId);
                if (invocation.Trace is { } trace)
                {
                    json.WriteString("traceId", trace.Root);
                }
            }

            if (System.Diagnostics.Activity.Current is { } activity)
            {
                json.WriteString("spanId", activity.SpanId.ToHexString());
            }

            if (exception is not null)
            {
                json.WriteString("errorType", exception.GetType().Name);
                json.WriteString("errorMessage", exception.Message);
                json.WriteString("stackTrace", exception.ToString());
            }

            if (state is IReadOnlyList<KeyValuePair<string, object?>> values)
            {
                foreach (var (name, value) in values)
                {
                    if (name != "{OriginalFormat}" && !Reserved.Contains(name))
                    {
                        WriteValue(json, name, value);
                    }
                }
            }

            json.WriteEndObject();
        }

        output.WriteLine(buffer.WrittenSpan);
    }

    private static void WriteValue(Utf8JsonWriter json, string name, object? value)
    {
        switch (value)
        {
            case null:
                json.WriteNull(name);
                break;
            case bool flag:
                json.WriteBoolean(name, flag);
                break;
            case int or long or short or byte or uint or ushort or sbyte:
                json.WriteNumber(name, Convert.ToInt64(value, CultureInfo.InvariantCulture));
                break;
            case double number when double.IsFinite(number):
                json.WriteNumber(name, number);
                break;
            case float number when float.IsFinite(number):
                json.WriteNumber(name, number);
                break;
            default:
                json.WriteString(name, Convert.ToString(value, CultureInfo.InvariantCulture));
                break;
        }
    }

    private sealed class JsonLineLogger(JsonLineLoggerProvider provider, string category) : ILogger
    {
        public IDisposable? BeginScope<TState>(TState state)
            where TState : notnull => null;

        public bool IsEnabled(LogLevel logLevel) => logLevel != LogLevel.None && logLevel >= provider.Minimum;

        public void Log<TState>(LogLevel logLevel, EventId eventId, TState state, Exception? exception, Func<TState, Exception?, string> formatter)
        {
            if (IsEnabled(logLevel))
            {
                provider.Write(category, logLevel, eventId, state, exception, formatter);
            }
        }
    }
}
