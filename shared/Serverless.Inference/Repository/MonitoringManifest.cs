namespace Serverless.Inference.Repository;

/// <summary>The <c>monitoring</c> section of <c>model.json</c>: what the host records about this model's traffic.</summary>
/// <param name="Capture">Sampled request/response records, written to the host's capture store; off when absent.</param>
internal sealed record MonitoringManifest(CaptureManifest? Capture = null)
{
    internal string? Problem() => Capture?.Problem() is { } problem ? $"capture.{problem}" : null;
}

/// <summary>
/// Which requests are recorded and what of them: a share of requests (each request is sampled once, all its rows
/// together), their inputs and outputs, less the inputs named in <paramref name="Redact"/>.
/// </summary>
/// <param name="SampleRate">The share of requests recorded, from 0 (none) to 1 (all).</param>
/// <param name="Redact">Inputs never written (text a caller may consider private); each must be an input of the model.</param>
/// <param name="MaxRecordBytes">The longest line one row may take; a value that would pass it is left out and listed under "truncated".</param>
internal sealed record CaptureManifest(
    double SampleRate = 0,
    bool Inputs = true,
    bool Outputs = true,
    IReadOnlyList<string>? Redact = null,
    int MaxRecordBytes = CaptureManifest.DefaultMaxRecordBytes)
{
    public const int DefaultMaxRecordBytes = 16 << 10;
    public const int MinRecordBytes = 1 << 10;
    public const int MaxRecordBytesLimit = 1 << 20;

    internal string? Problem() =>
        double.IsNaN(SampleRate) || SampleRate is < 0 or > 1 ? "sample_rate must be between 0 and 1"
        : MaxRecordBytes is < MinRecordBytes or > MaxRecordBytesLimit ? $"max_record_bytes must be between {MinRecordBytes} and {MaxRecordBytesLimit}"
        : Redact?.Any(string.IsNullOrEmpty) == true ? "redact names inputs: an empty name cannot be one"
        : null;

    /// <summary>The redacted names that are not inputs of the model, checked once the model is loaded.</summary>
    internal IReadOnlyList<string> UnknownRedactions(IEnumerable<string> inputNames)
    {
        var names = inputNames.ToHashSet(StringComparer.Ordinal);
        return [.. (Redact ?? []).Where(name => !names.Contains(name))];
    }
}
