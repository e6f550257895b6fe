namespace Serverless.Infer.Cli.Monitor;

/// <summary>What <c>infer monitor</c> compares and where it writes.</summary>
/// <param name="Baseline">The reference: a capture folder or URL, a batch result file or training data.</param>
/// <param name="Current">The window to check against it.</param>
/// <param name="BaselineFilter">The model, version and time range the baseline's records must have.</param>
/// <param name="CurrentFilter">The same for the current window.</param>
/// <param name="Labels">A CSV of <c>id,label</c>: accuracy of <paramref name="LabelOutput"/> over <paramref name="Window"/>s.</param>
/// <param name="S3Endpoint">An S3-compatible endpoint (moto, MinIO) instead of AWS.</param>
internal sealed record MonitorSettings(
    string Baseline,
    string Current,
    RecordFilter BaselineFilter,
    RecordFilter CurrentFilter,
    DirectoryInfo Output,
    DriftThresholds Thresholds,
    FileInfo? Labels = null,
    string? LabelOutput = null,
    TimeSpan? Window = null,
    string? S3Endpoint = null);
