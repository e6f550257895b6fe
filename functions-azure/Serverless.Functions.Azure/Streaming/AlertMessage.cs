using System.Text;
using System.Text.Json;
using Serverless.Inference.Streaming;

namespace Serverless.Functions.Azure.Streaming;

/// <summary>
/// An alert as the queue message's JSON (<see cref="StreamAlert.WriteTo"/>), the names the predictions lines use. A queue message holds 64 KiB of base64 (48 KiB of text): a prediction too big
/// for that (a long embedding) is left out and the message says how big it was.
/// </summary>
internal static class AlertMessage
{
    internal const int MaxBytes = 48 * 1024;

    public static string ToJson(StreamAlert alert)
    {
        ArgumentNullException.ThrowIfNull(alert);
        var json = Write(alert, includePrediction: true);
        return json.Length <= MaxBytes ? Encoding.UTF8.GetString(json) : Encoding.UTF8.GetString(Write(alert, includePrediction: false));
    }

    private static byte[] Write(StreamAlert alert, bool includePrediction)
    {
        using var buffer = new MemoryStream();
        using (var writer = new Utf8JsonWriter(buffer))
        {
            alert.WriteTo(writer, includePrediction);
        }

        return buffer.ToArray();
    }
}
