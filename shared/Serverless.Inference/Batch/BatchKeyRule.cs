using System.Text;

namespace Serverless.Inference.Batch;

/// <summary>
/// Which keys are safe as object keys and file paths alike. Anything a person names a file is accepted: spaces,
/// <c>+</c>, <c>%</c>, parentheses, commas, letters of any script in NFC or NFD (never normalised: they are different
/// keys). Refused is only what is dangerous or ambiguous: an empty key, an empty, <c>.</c> or <c>..</c> segment
/// (a leading, trailing or doubled <c>/</c>), control characters, backslashes, text that is not valid Unicode, and
/// keys or segments over the length limits.
/// </summary>
public static class BatchKeyRule
{
    /// <summary>S3 allows 1,024 UTF-8 bytes; 64 are kept for what the batch layout adds to an input's name.</summary>
    public const int MaxKeyBytes = 960;

    /// <summary>Most local file systems' limit on one file or folder name.</summary>
    internal const int MaxSegmentBytes = 255;

    /// <summary>Null when <paramref name="key"/> is safe, else the rule it breaks.</summary>
    public static string? Problem(string? key) => Problem(key, MaxKeyBytes, MaxSegmentBytes);

    /// <summary>The same rule with other length limits, for a store whose backend has its own.</summary>
    public static string? Problem(string? key, int maxKeyBytes, int maxSegmentBytes)
    {
        if (string.IsNullOrEmpty(key))
        {
            return "the key is empty";
        }

        if (!IsValidUnicode(key))
        {
            return "the key is not valid Unicode text";
        }

        if (key.Any(char.IsControl))
        {
            return "the key contains a control character";
        }

        if (key.Contains('\\', StringComparison.Ordinal))
        {
            return "the key contains a backslash";
        }

        var bytes = Encoding.UTF8.GetByteCount(key);
        if (bytes > maxKeyBytes)
        {
            return $"the key is {bytes} UTF-8 bytes long, over the limit of {maxKeyBytes}";
        }

        foreach (var segment in key.Split('/'))
        {
            if (segment.Length == 0)
            {
                return "the key has an empty segment (a leading, trailing or doubled '/')";
            }

            if (segment is "." or "..")
            {
                return "the key has a '.' or '..' segment";
            }

            if (Encoding.UTF8.GetByteCount(segment) > maxSegmentBytes)
            {
                return $"a segment of the key is over {maxSegmentBytes} UTF-8 bytes";
            }
        }

        return null;
    }

    private static bool IsValidUnicode(string text)
    {
        for (var i = 0; i < text.Length; i++)
        {
            if (char.IsHighSurrogate(text[i]) && i + 1 < text.Length && char.IsLowSurrogate(text[i + 1]))
            {
                i++;
            }
            else if (char.IsSurrogate(text[i]))
            {
                return false;
            }
        }

        return true;
    }
}
