namespace Serverless.Inference.Batch;

public enum BatchFormat
{
    /// <summary>One JSON value per line: an OIP inference request, or a plain record (object or array).</summary>
    Jsonl,

    /// <summary>RFC 4180 CSV with a header; columns are mapped onto the model's inputs by name.</summary>
    Csv,
}

public static class BatchFormats
{
    /// <summary>The format a file name implies: .jsonl/.ndjson/.json → JSONL, .csv → CSV, anything else → null.</summary>
    public static BatchFormat? FromFileName(string fileName) =>
        Path.GetExtension(fileName).ToUpperInvariant() switch
        {
            ".JSONL" or ".NDJSON" or ".JSON" => BatchFormat.Jsonl,
            ".CSV" => BatchFormat.Csv,
            _ => null,
        };

    public static string Extension(this BatchFormat format) => format == BatchFormat.Csv ? "csv" : "jsonl";

    /// <summary>The format of <see cref="Extension"/>'s answer, or null.</summary>
    internal static BatchFormat? FromExtension(string extension) => extension switch
    {
        "csv" => BatchFormat.Csv,
        "jsonl" => BatchFormat.Jsonl,
        _ => null,
    };
}

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
