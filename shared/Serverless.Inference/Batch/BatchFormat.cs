namespace Serverless.Inference.Batch;

public enum BatchFormat
{
    /// <summary>One JSON value per line: an OIP inference request, or a plain record (object or array).</summary>
    Jsonl,

    /// <summary>RFC 4180 CSV with a header; columns are mapped onto the model's inputs by name.</summary>
    Csv,
}
