namespace Serverless.Infer.Cli.Monitor;

/// <summary>Where records come from: the objects of a folder, an S3 prefix or a Blob prefix, each opened as a stream.</summary>
internal interface ICaptureSource
{
    /// <summary>The objects under the source, in key order; only .jsonl, .json and .csv objects.</summary>
    IAsyncEnumerable<CaptureObject> ListAsync(CancellationToken cancellationToken);
}

/// <param name="Key">The object's key or path under the source, which holds its capture hour folders.</param>
internal sealed record CaptureObject(string Key, Func<CancellationToken, Task<Stream>> OpenAsync)
{
    public static bool IsReadable(string key) =>
        key.EndsWith(".jsonl", StringComparison.OrdinalIgnoreCase)
        || key.EndsWith(".json", StringComparison.OrdinalIgnoreCase)
        || key.EndsWith(".csv", StringComparison.OrdinalIgnoreCase);
}
