namespace Serverless.Inference.Monitoring;

/// <summary>The object a record goes to: one per model, version and UTC hour (of its records' times).</summary>
internal readonly record struct CaptureBucketKey(string Model, string Version, DateTime Hour)
{
    public static CaptureBucketKey For(string model, string version, DateTimeOffset time)
    {
        var utc = time.UtcDateTime;
        return new CaptureBucketKey(model, version, new DateTime(utc.Year, utc.Month, utc.Day, utc.Hour, 0, 0, DateTimeKind.Utc));
    }

    /// <summary><c>capture/&lt;model&gt;/&lt;version&gt;/&lt;yyyy&gt;/&lt;MM&gt;/&lt;dd&gt;/&lt;HH&gt;/&lt;instance&gt;-&lt;seq&gt;.jsonl</c>; model and version are already valid names.</summary>
    public string ObjectKey(string instance, long sequence) =>
        string.Create(
            System.Globalization.CultureInfo.InvariantCulture,
            $"{PredictionCapture.KeyPrefix}{Model}/{Version}/{Hour:yyyy}/{Hour:MM}/{Hour:dd}/{Hour:HH}/{instance}-{sequence:D8}.jsonl");
}
