using System.Text.Json.Serialization;

namespace Serverless.Inference.Streaming;

/// <summary>
/// One saved generation of a partition key's state. <paramref name="Run"/> names the predictions object whose records
/// produced it: a retry of that same run starts again from the generation before, so it scores exactly as the first try.
/// </summary>
/// <param name="Readings">The window's readings, oldest first, laid end to end in the model's element type.</param>
internal sealed record StreamKeyDocument(
    string Run,
    string? LastPosition,
    DateTimeOffset? LastTimestamp,
    IReadOnlyDictionary<string, int>? Streaks,
    int WindowSize,
    int ReadingBytes,
    byte[]? Readings)
{
    public static StreamKeyDocument From(string run, StreamKeyState state) => new(
        run,
        state.LastPosition,
        state.LastTimestamp,
        state.Streaks.Count > 0 ? new Dictionary<string, int>(state.Streaks, StringComparer.Ordinal) : null,
        state.Readings?.Size ?? 0,
        state.Readings?.ReadingBytes ?? 0,
        state.Readings?.ToArray());

    public StreamKeyState ToState() => StreamKeyState.Restore(
        LastPosition,
        LastTimestamp,
        Streaks,
        WindowSize > 0 && ReadingBytes > 0 ? StreamReadings.From(WindowSize, ReadingBytes, Readings) : null);
}

[JsonSourceGenerationOptions(PropertyNamingPolicy = JsonKnownNamingPolicy.SnakeCaseLower)]
[JsonSerializable(typeof(StreamKeyDocument))]
[JsonSerializable(typeof(string[]))]
internal sealed partial class StreamJsonContext : JsonSerializerContext;
