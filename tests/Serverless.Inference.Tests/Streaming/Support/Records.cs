using System.Text;
using Serverless.Inference.Streaming;

namespace Serverless.Inference.Tests.Streaming.Support;

/// <summary>Stream records for tests: positions count up from a start, a second apart.</summary>
public static class Records
{
    public static DateTimeOffset Start { get; } = new(2026, 12, 1, 19, 59, 58, TimeSpan.Zero);

    public static StreamRecord Of(string key, long position, string payload) =>
        new(key, position.ToString(System.Globalization.CultureInfo.InvariantCulture), Start.AddSeconds(position), Encoding.UTF8.GetBytes(payload));

    /// <summary>One record per payload, all of one key, at positions <paramref name="first"/>, first + 1, ...</summary>
    public static List<StreamRecord> Sequence(string key, long first, params string[] payloads) =>
        [.. payloads.Select((payload, i) => Of(key, first + i, payload))];
}
