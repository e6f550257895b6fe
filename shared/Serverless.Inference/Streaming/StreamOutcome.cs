namespace Serverless.Inference.Streaming;

/// <summary>
/// What processing a stream batch did. Records before <paramref name="FirstUncommitted"/> are committed (predictions
/// written, alerts sent, state saved), per-record errors included; the source should deliver again from that record.
/// </summary>
/// <param name="Committed">Records whose results are committed, duplicates included.</param>
/// <param name="RecordErrors">Records committed with an error result (bad JSON, wrong shape, refused by the model).</param>
/// <param name="Duplicates">Records whose predictions object already existed: delivered before, nothing rewritten.</param>
/// <param name="Alerts">Alerts sent by this call, repeats of a retried send included.</param>
/// <param name="FirstUncommitted">The index in the batch's records of the first record not committed; null when all were.</param>
/// <param name="Error">Why the records from <paramref name="FirstUncommitted"/> on were not committed.</param>
public sealed record StreamOutcome(
    int Records,
    int Committed,
    int RecordErrors,
    int Duplicates,
    int Alerts,
    int? FirstUncommitted,
    string? Error);
