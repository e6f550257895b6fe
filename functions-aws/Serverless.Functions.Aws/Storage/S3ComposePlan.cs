using Serverless.Inference.Batch;

namespace Serverless.Functions.Aws.Storage;

/// <summary>A byte range of one source part.</summary>
internal readonly record struct ComposePiece(BatchObject Part, long Offset, long Length);

/// <summary>
/// One part of the multipart upload: a server-side copy of one range (<see cref="IsCopy"/>), or the bytes of one or
/// more ranges read through this process and uploaded together.
/// </summary>
internal sealed record ComposeUploadPart(int Number, bool IsCopy, IReadOnlyList<ComposePiece> Pieces)
{
    public long Length => Pieces.Sum(piece => piece.Length);
}

/// <summary>
/// Splits "these parts, in order" into multipart-upload parts S3 accepts: every part but the last at least
/// <c>minPart</c> bytes, none above <c>maxPart</c>. Parts big enough are copied server-side (UploadPartCopy, with a
/// range when a neighbour borrowed their first bytes); runs of small parts are read and uploaded, topped up to the
/// minimum with the first bytes of the next part. A streamed upload part is never more than <c>minPart</c> bytes,
/// except a last one made only of small parts (under <c>minPart</c> too).
/// </summary>
internal static class S3ComposePlan
{
    /// <summary>S3's minimum size of a part other than the last.</summary>
    public const long MinPartBytes = 5L << 20;

    /// <summary>S3's maximum size of one part (and of one UploadPartCopy range).</summary>
    public const long MaxPartBytes = 5L << 30;

    /// <summary>S3's limit on parts in one upload.</summary>
    public const int MaxParts = 10_000;

    public static IReadOnlyList<ComposeUploadPart> Plan(IReadOnlyList<BatchObject> parts, long minPart = MinPartBytes, long maxPart = MaxPartBytes)
    {
        ArgumentNullException.ThrowIfNull(parts);
        ArgumentOutOfRangeException.ThrowIfLessThan(minPart, 1);
        // Splitting a long copy into chunks of at least half the maximum keeps every chunk above the minimum.
        ArgumentOutOfRangeException.ThrowIfLessThan(maxPart, 2 * minPart);

        var bytesAfter = new long[parts.Count + 1];
        for (var i = parts.Count - 1; i >= 0; i--)
        {
            ArgumentOutOfRangeException.ThrowIfNegative(parts[i].Length);
            bytesAfter[i] = bytesAfter[i + 1] + parts[i].Length;
        }

        var plan = new List<ComposeUploadPart>();
        var staged = new List<ComposePiece>();
        long stagedBytes = 0;

        void Flush()
        {
            plan.Add(new ComposeUploadPart(plan.Count + 1, IsCopy: false, [.. staged]));
            staged.Clear();
            stagedBytes = 0;
        }

        for (var i = 0; i < parts.Count; i++)
        {
            var part = parts[i];
            long offset = 0;
            if (stagedBytes > 0 && part.Length > 0)
            {
                var take = Math.Min(minPart - stagedBytes, part.Length);
                staged.Add(new ComposePiece(part, 0, take));
                stagedBytes += take;
                offset = take;
                if (stagedBytes >= minPart)
                {
                    Flush();
                }
            }

            var rest = part.Length - offset;
            if (rest == 0)
            {
                continue;
            }

            // Nothing is staged here: a part that topped up the staged run and still has bytes flushed it.
            var isLastBytes = bytesAfter[i + 1] == 0;
            if (rest >= minPart || isLastBytes)
            {
                var chunks = (rest + maxPart - 1) / maxPart;
                var chunk = rest / chunks;
                var longer = rest % chunks;
                for (long c = 0; c < chunks; c++)
                {
                    var length = chunk + (c < longer ? 1 : 0);
                    plan.Add(new ComposeUploadPart(plan.Count + 1, IsCopy: true, [new ComposePiece(part, offset, length)]));
                    offset += length;
                }
            }
            else
            {
                staged.Add(new ComposePiece(part, offset, rest));
                stagedBytes += rest;
            }
        }

        if (stagedBytes > 0)
        {
            Flush();
        }

        return plan;
    }
}
