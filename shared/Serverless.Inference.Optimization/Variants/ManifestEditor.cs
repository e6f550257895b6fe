using System.Text;
using System.Text.Encodings.Web;
using System.Text.Json;
using System.Text.Json.Nodes;

namespace Serverless.Inference.Optimization.Variants;

/// <summary>
/// Changes members of model.json's root object and leaves every other byte as it was: the user's layout, comments and
/// member order survive; only the changed member's value is written anew, or the member appended after the last one.
/// </summary>
internal static class ManifestEditor
{
    private static readonly JsonReaderOptions ReaderOptions = new() { CommentHandling = JsonCommentHandling.Skip, AllowTrailingCommas = true };
    private static readonly JsonNodeOptions NodeOptions = new() { PropertyNameCaseInsensitive = false };
    private static readonly JsonDocumentOptions DocumentOptions = new() { CommentHandling = JsonCommentHandling.Skip, AllowTrailingCommas = true };
    // A person reads and edits model.json: "+" in a time stays "+", not "\u002B".
    private static readonly JsonSerializerOptions WriteOptions = new() { WriteIndented = true, Encoder = JavaScriptEncoder.UnsafeRelaxedJsonEscaping };

    /// <summary>Applies each update to the current value of its member (null when absent) and writes the result in its place.</summary>
    public static byte[] SetMembers(ReadOnlySpan<byte> json, IReadOnlyList<(string Name, Func<JsonNode?, JsonNode> Update)> updates)
    {
        var members = ReadMembers(json, out var objectStart, out var lastValueEnd);
        var edits = new List<(int Start, int Length, string Text)>();
        var appended = new StringBuilder();
        foreach (var (name, update) in updates)
        {
            if (members.TryGetValue(name, out var span))
            {
                var current = JsonNode.Parse(json[span.Start..span.End], NodeOptions, DocumentOptions);
                edits.Add((span.Start, span.End - span.Start, Write(update(current))));
            }
            else
            {
                var separator = members.Count == 0 && appended.Length == 0 ? "\n  " : ",\n  ";
                appended.Append(separator).Append(JsonSerializer.Serialize(name)).Append(": ").Append(Write(update(null)));
            }
        }

        if (appended.Length > 0)
        {
            // After the last member's value (before any trailing comma), or just inside an empty object.
            edits.Add((members.Count == 0 ? objectStart + 1 : lastValueEnd, 0, members.Count == 0 ? appended.Append('\n').ToString() : appended.ToString()));
        }

        var result = json.ToArray().ToList();
        foreach (var (start, length, text) in edits.OrderByDescending(edit => edit.Start))
        {
            result.RemoveRange(start, length);
            result.InsertRange(start, Encoding.UTF8.GetBytes(text));
        }

        return [.. result];
    }

    private static Dictionary<string, (int Start, int End)> ReadMembers(ReadOnlySpan<byte> json, out int objectStart, out int lastValueEnd)
    {
        var reader = new Utf8JsonReader(json, ReaderOptions);
        if (!reader.Read() || reader.TokenType != JsonTokenType.StartObject)
        {
            throw new OptimizationException("model.json is not a JSON object");
        }

        objectStart = (int)reader.TokenStartIndex;
        lastValueEnd = objectStart + 1;
        var members = new Dictionary<string, (int, int)>(StringComparer.Ordinal);
        while (reader.Read() && reader.TokenType == JsonTokenType.PropertyName)
        {
            var name = reader.GetString()!;
            reader.Read();
            var start = (int)reader.TokenStartIndex;
            reader.Skip();
            lastValueEnd = (int)reader.BytesConsumed;
            members[name] = (start, lastValueEnd);
        }

        return members;
    }

    // Indented as a member of the root object is.
    private static string Write(JsonNode value) => value.ToJsonString(WriteOptions).Replace("\n", "\n  ", StringComparison.Ordinal);
}
