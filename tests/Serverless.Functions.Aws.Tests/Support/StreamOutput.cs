using System.Text.Json;
using Amazon.SQS.Model;

namespace Serverless.Functions.Aws.Tests.Support;

/// <summary>What the stream function wrote, read back: a predictions line's iris label, an alert message's gist.</summary>
internal static class StreamOutput
{
    public static string Label(JsonElement line)
    {
        var label = line.GetProperty("outputs").GetProperty("PredictedLabel.output");
        return (label.ValueKind == JsonValueKind.Array ? label[0] : label).GetString()!;
    }

    /// <summary>"rule key position".</summary>
    public static string Describe(Message message)
    {
        ArgumentNullException.ThrowIfNull(message);
        using var body = JsonDocument.Parse(message.Body);
        var root = body.RootElement;
        return $"{root.GetProperty("rule").GetString()} {root.GetProperty("key").GetString()} {root.GetProperty("position").GetString()}";
    }
}
