namespace Serverless.Inference.Batch;

/// <summary>What one sweep found and did.</summary>
/// <param name="Listed">Objects under incoming/ seen.</param>
/// <param name="Old">Of those, the ones older than the threshold (attachments left out).</param>
/// <param name="Complete">False when the file or time bound stopped the sweep before the listing ended.</param>
public sealed record SweepSummary(int Listed, int Old, int Scored, int AlreadyScored, int Failed, int WillRetry, bool Complete);
