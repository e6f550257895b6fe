namespace Serverless.Inference.Batch.Sharding;

/// <summary>
/// Finds where a file can be cut: one streaming pass with the reader the scorer itself uses, so a quoted CSV field
/// with newlines or an over-long JSON line is never split, and shards end on record boundaries, never at a guessed
/// byte offset. Memory stays flat: only the shard list grows, one entry per shard.
/// </summary>
internal static class ShardPlanner
{
    public static async Task<(ShardRange? Header, int HeaderLines, List<ShardRange> Shards)> PlanAsync(
        Stream input, BatchFormat format, int maxRecordBytes, int recordsPerShard, long bytesPerShard, CancellationToken cancellationToken)
    {
        await using var records = new RecordReader(input, maxRecordBytes, quotedNewlines: format == BatchFormat.Csv);
        ShardRange? header = null;
        var headerLines = 0;
        var shards = new List<ShardRange>();
        if (format == BatchFormat.Csv)
        {
            if (await records.ReadAsync(cancellationToken).ConfigureAwait(false) is null)
            {
                return (null, 0, shards);
            }

            header = new ShardRange(0, records.BytesRead, 1, 1);
        }

        var start = records.BytesRead;
        var firstLine = 0L;
        var count = 0L;
        while (await records.ReadAsync(cancellationToken).ConfigureAwait(false) is { } record)
        {
            if (count == 0)
            {
                firstLine = record.Line;
                if (header is not null && headerLines == 0)
                {
                    headerLines = (int)(record.Line - 1);
                }
            }

            count++;
            if (count >= recordsPerShard || records.BytesRead - start >= bytesPerShard)
            {
                shards.Add(new ShardRange(start, records.BytesRead - start, firstLine, count));
                start = records.BytesRead;
                count = 0;
            }
        }

        if (count > 0)
        {
            shards.Add(new ShardRange(start, records.BytesRead - start, firstLine, count));
        }

        return (header, headerLines, shards);
    }
}
