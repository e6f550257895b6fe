using System.Globalization;

namespace Serverless.Infer.Cli.Monitor;

/// <summary>The UTC hour a capture object's key names: its last four folders, <c>yyyy/MM/dd/HH/&lt;file&gt;</c>.</summary>
internal static class CaptureHour
{
    public static DateTimeOffset? Of(string key)
    {
        var parts = key.Replace('\\', '/').Split('/');
        if (parts.Length < 5)
        {
            return null;
        }

        var text = string.Join('/', parts[^5..^1]);
        return DateTimeOffset.TryParseExact(text, "yyyy/MM/dd/HH", CultureInfo.InvariantCulture, DateTimeStyles.AssumeUniversal, out var hour)
            ? hour
            : null;
    }
}
