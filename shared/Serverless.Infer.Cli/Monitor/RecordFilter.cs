namespace Serverless.Infer.Cli.Monitor;

/// <summary>Which captured records a side takes: one model and version, records in [From, To).</summary>
internal sealed record RecordFilter(string? Model, string? Version, DateTimeOffset? From, DateTimeOffset? To)
{
    /// <summary>
    /// An object's hour folder is the hour of its first record; its later records may run into the next hour, so the hour
    /// before <see cref="From"/> is read too, and its records before From are skipped one by one.
    /// </summary>
    public bool AdmitsHour(DateTimeOffset hour) =>
        (From is not { } from || hour >= from.AddHours(-1)) && (To is not { } to || hour < to);

    public bool Admits(string? model, string? version, DateTimeOffset? time) =>
        (Model is null || model is null || string.Equals(Model, model, StringComparison.Ordinal))
        && (Version is null || version is null || string.Equals(Version, version, StringComparison.Ordinal))
        && (time is not { } t || ((From is not { } from || t >= from) && (To is not { } to || t < to)));
}
