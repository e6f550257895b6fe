namespace Serverless.Inference.Batch;

public enum BatchOutcomeKind
{
    /// <summary>Results and summary were published.</summary>
    Scored,

    /// <summary>This input was already scored by this model (a repeated or racing delivery), or is gone; nothing was written.</summary>
    AlreadyScored,

    /// <summary>The file failed as a whole and will be tried again; the platform should redeliver it.</summary>
    WillRetry,

    /// <summary>The file was set aside under failed/ (too many attempts, an error retrying cannot change, a refused name), or refused and logged where it cannot be moved.</summary>
    Failed,

    /// <summary>Not a batch input: an attachment under <c>incoming/_attachments/</c>.</summary>
    Ignored,

    /// <summary>Too big for one invocation: planned into shards, one queue message each; the shard workers publish the result.</summary>
    Sharded,
}
