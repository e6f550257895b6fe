namespace Serverless.Infer.Cli.Monitor;

/// <summary>Turns a --baseline or --current argument into its source: s3://, http(s):// (Blob Storage) or a local path.</summary>
internal static class CaptureSources
{
    public static ICaptureSource Parse(string source, string? s3Endpoint)
    {
        if (source.StartsWith("s3://", StringComparison.OrdinalIgnoreCase))
        {
            return Uri.TryCreate(source, UriKind.Absolute, out var s3) && s3.Host.Length > 0
                ? S3Source.FromUrl(s3, s3Endpoint)
                : throw new MonitorException(MonitorExitCodes.Unreadable, $"{source} is not an S3 URL: use s3://<bucket>/<prefix>");
        }

        if (source.StartsWith("https://", StringComparison.OrdinalIgnoreCase) || source.StartsWith("http://", StringComparison.OrdinalIgnoreCase))
        {
            return Uri.TryCreate(source, UriKind.Absolute, out var blob)
                ? BlobSource.FromUrl(blob)
                : throw new MonitorException(MonitorExitCodes.Unreadable, $"{source} is not a URL");
        }

        return new LocalSource(source);
    }
}
