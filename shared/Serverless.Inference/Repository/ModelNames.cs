using System.Diagnostics.CodeAnalysis;

namespace Serverless.Inference.Repository;

/// <summary>
/// The one rule for every name that becomes part of a storage path: model names, versions, aliases,
/// file names. Nothing from a request reaches a store without passing it. On top of the pattern, ".."
/// is refused anywhere in a name, so no name can ever read as a step up a path.
/// </summary>
public static class ModelNames
{
    internal const int MaxLength = 64;
    internal const string Rule = "[A-Za-z0-9][A-Za-z0-9._-]{0,63}";

    public static bool IsValid([NotNullWhen(true)] string? name) => name is not null && IsValid(name.AsSpan());

    /// <summary>The longest batch file name; results add a run id and a suffix to it, so it may exceed a model name.</summary>
    internal const int MaxFileNameLength = 200;

    public static bool IsValid(ReadOnlySpan<char> name) => IsValid(name, MaxLength);

    /// <summary>The same characters as a model name, for file names in batch storage, up to <see cref="MaxFileNameLength"/>.</summary>
    internal static bool IsValidFileName(ReadOnlySpan<char> name) => IsValid(name, MaxFileNameLength);

    private static bool IsValid(ReadOnlySpan<char> name, int maxLength)
    {
        if (name.IsEmpty || name.Length > maxLength || !char.IsAsciiLetterOrDigit(name[0]) || name.Contains("..", StringComparison.Ordinal))
        {
            return false;
        }

        foreach (var c in name)
        {
            if (!char.IsAsciiLetterOrDigit(c) && c is not ('.' or '_' or '-'))
            {
                return false;
            }
        }

        return true;
    }

    public static string Require(string? name, string what) =>
        IsValid(name)
            ? name
            : throw new InferenceException(InferenceErrorKind.BadRequest, $"invalid {what} '{Printable(name)}': it must match {Rule}");

    /// <summary>A shortened, control-character-free copy of untrusted text for error messages.</summary>
    public static string Printable(string? text)
    {
        if (text is null)
        {
            return "";
        }

        var shortened = text.Length > 80 ? string.Concat(text.AsSpan(0, 80), "...") : text;
        return string.Create(shortened.Length, shortened, static (span, source) =>
        {
            for (var i = 0; i < source.Length; i++)
            {
                span[i] = char.IsControl(source[i]) ? '?' : source[i];
            }
        });
    }
}
