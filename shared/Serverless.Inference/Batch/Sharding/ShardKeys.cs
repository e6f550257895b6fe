using System.Globalization;

namespace Serverless.Inference.Batch.Sharding;

/// <summary>
/// Where a sharded run keeps its state, in a folder beside the result it will publish:
/// <c>outgoing/&lt;model&gt;[/&lt;version&gt;]/&lt;file&gt;.&lt;run&gt;/</c> holds the plan, one part (and its summary
/// and attempt counter) per shard, the merge claim, progress and, when the file failed, a marker. Only the final
/// result and summary are published under the names an unsharded run uses; the folder is removed after the merge.
/// </summary>
internal sealed record ShardKeys(string Folder, string ResultsKey, string SummaryKey, BatchFormat Format)
{
    public static ShardKeys For(BatchKey key, string run, BatchFormat format) =>
        new(key.ResultsKey(run, format)[..^$".results.{format.Extension()}".Length] + "/", key.ResultsKey(run, format), key.SummaryKey(run), format);

    /// <summary>The keys of the run a plan key belongs to, or null when it is not one (the message that named it is dead-lettered).</summary>
    public static ShardKeys? FromPlan(string planKey)
    {
        if (!planKey.EndsWith("/" + ShardMessage.PlanFileName, StringComparison.Ordinal))
        {
            return null;
        }

        var folder = planKey[..^ShardMessage.PlanFileName.Length];
        var runName = folder.TrimEnd('/');
        var lastDot = runName.LastIndexOf('.');
        var lastSlash = runName.LastIndexOf('/');
        if (lastDot <= lastSlash || BatchFormats.FromFileName(runName[(lastSlash + 1)..lastDot]) is not { } format)
        {
            return null;
        }

        return new ShardKeys(folder, $"{runName}.results.{format.Extension()}", $"{runName}.summary.json", format);
    }

    public string Plan => Folder + ShardMessage.PlanFileName;

    public string Claim => Folder + "merge.claim";

    public string Progress => Folder + "progress.json";

    /// <summary>Written once when the file failed as a whole: later deliveries of its shards do nothing.</summary>
    public string FailedMarker => Folder + "failed.json";

    public string Part(int shard) => Folder + PartName(shard) + "." + Format.Extension();

    public string PartSummary(int shard) => Folder + PartName(shard) + ".summary.json";

    public string PartAttempts(int shard) => Folder + PartName(shard) + ".attempts";

    /// <summary>The shard a part's key names, or null for any other key in the folder.</summary>
    public int? ShardOfPart(string key) =>
        key.StartsWith(Folder + "part-", StringComparison.Ordinal)
        && key.EndsWith("." + Format.Extension(), StringComparison.Ordinal)
        && int.TryParse(key.AsSpan(Folder.Length + 5, key.Length - Folder.Length - 5 - Format.Extension().Length - 1), NumberStyles.None, CultureInfo.InvariantCulture, out var shard)
            ? shard
            : null;

    private static string PartName(int shard) => "part-" + shard.ToString("D5", CultureInfo.InvariantCulture);
}
