using System.Collections.Concurrent;

namespace Serverless.Inference.Monitoring;

/// <summary>
/// What one model version's records share, encoded once: the model, version, identity and source fields, and each
/// tensor's name as a property name, so that a record only formats what differs from one row to the next.
/// </summary>
internal sealed class CaptureRecordFields(string model, string version, string identity)
{
    // Bounded by the model: a request reaches capture only once its inputs matched the model's, and outputs are the model's.
    private readonly ConcurrentDictionary<string, byte[]> _names = new(StringComparer.Ordinal);

    /// <summary><c>"model":...,"version":...,"identity":...,"source":"online"</c>.</summary>
    public byte[] Online { get; } = Encode(model, version, identity, ModelCapture.Online);

    /// <summary>The same with <c>"source":"batch"</c>.</summary>
    public byte[] Batch { get; } = Encode(model, version, identity, ModelCapture.Batch);

    /// <summary>A tensor's name, escaped and quoted, with its colon.</summary>
    public byte[] Name(string name) => _names.GetOrAdd(name, static key => CaptureRecordWriter.Encode(json =>
    {
        json.WriteStartObject();
        json.WriteNull(key);
        json.WriteEndObject();
    })[1..^"null}".Length]);

    private static byte[] Encode(string model, string version, string identity, string source) =>
        CaptureRecordWriter.Encode(json =>
        {
            json.WriteStartObject();
            json.WriteString("model"u8, model);
            json.WriteString("version"u8, version);
            json.WriteString("identity"u8, identity);
            json.WriteString("source"u8, source);
            json.WriteEndObject();
        })[1..^1];
}
