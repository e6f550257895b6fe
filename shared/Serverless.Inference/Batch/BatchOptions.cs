namespace Serverless.Inference.Batch;

public sealed record BatchOptions
{
    /// <summary>A longer record becomes a row error and is skipped without being held in memory.</summary>
    public int MaxRecordBytes { get; set; } = 1 << 20;

    /// <summary>Rows per run; null takes the model's max_batch_size (1 for a model that does not batch).</summary>
    public int? MicroBatchSize { get; set; }

    /// <summary>Where keys in <c>&lt;input&gt;_key</c> columns are read from; without it such a column is a row error.</summary>
    public IBatchAttachments? Attachments { get; set; }

    /// <summary>A micro-batch is run early once the attachments its rows hold reach this many bytes.</summary>
    public long MaxAttachmentBytesPerBatch { get; set; } = 64L << 20;

    /// <summary>
    /// Read and parse the next micro-batch while the model runs on this one and its results are written (the default);
    /// false does one thing at a time, the way to compare the two.
    /// </summary>
    public bool Overlapped { get; set; } = true;
}
