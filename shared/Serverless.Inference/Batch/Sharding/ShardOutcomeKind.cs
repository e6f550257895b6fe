namespace Serverless.Inference.Batch.Sharding;

/// <summary>What a shard delivery came to, and so what the queue should do with its message.</summary>
public enum ShardOutcomeKind
{
    /// <summary>This delivery scored the shard (and, when it was the last, merged the results).</summary>
    Scored,

    /// <summary>Nothing to do: the part, the merged result or the job's failure already exists. Acknowledge the message.</summary>
    AlreadyDone,

    /// <summary>The shard failed and has attempts left: let the platform deliver the message again.</summary>
    WillRetry,

    /// <summary>The shard failed for good, so the file failed as a whole and was set aside. Acknowledge the message.</summary>
    JobFailed,

    /// <summary>Not a shard message, or it names a plan that does not exist: dead-letter it with <see cref="ShardOutcome.Error"/>.</summary>
    DeadLetter,
}
