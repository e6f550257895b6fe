namespace Serverless.Inference.Batch;

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
