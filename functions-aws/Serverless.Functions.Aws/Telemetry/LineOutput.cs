namespace Serverless.Functions.Aws.Telemetry;

/// <summary>
/// Whole lines to one stream (stdout under Lambda), one writer at a time: CloudWatch Logs makes each line one log
/// event, so a line must never interleave with another. Log lines and metric documents share it, so they appear in
/// the order they were written.
/// </summary>
internal sealed class LineOutput(Stream stream)
{
    private readonly Lock _lock = new();

    public static LineOutput StandardOutput() => new(Console.OpenStandardOutput());

    /// <summary>Writes <paramref name="line"/> (UTF-8, without its line feed) and a line feed, and flushes.</summary>
    public void WriteLine(ReadOnlySpan<byte> line)
    {
        lock (_lock)
        {
            stream.Write(line);
            stream.WriteByte((byte)'\n');
            stream.Flush();
        }
    }
}
