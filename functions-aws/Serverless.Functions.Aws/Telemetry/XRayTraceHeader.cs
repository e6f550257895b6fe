using System.Diagnostics;

namespace Serverless.Functions.Aws.Telemetry;

/// <summary>
/// The X-Ray trace header Lambda hands each invocation (<c>Root=1-5759e988-bd862e3fe1be46a994272793;Parent=53995c3f42cd8ad8;Sampled=1</c>),
/// read as a W3C trace context: the Root's 32 hex digits after the version are the trace id, Parent is the span id.
/// </summary>
/// <param name="Root">The X-Ray trace id as X-Ray shows it (<c>1-5759e988-bd862e3fe1be46a994272793</c>).</param>
/// <param name="Parent">The caller's span; null when the header has no usable Parent, and then no parent is continued.</param>
internal sealed record XRayTraceHeader(string Root, ActivityTraceId TraceId, ActivitySpanId? Parent, bool Sampled)
{
    private const int RootLength = 35; // "1-" + 8 hex digits (epoch seconds) + "-" + 24 hex digits

    /// <summary>The context to continue as our activities' parent; null without a Parent.</summary>
    public ActivityContext? ParentContext =>
        Parent is { } parent ? new ActivityContext(TraceId, parent, Sampled ? ActivityTraceFlags.Recorded : ActivityTraceFlags.None, isRemote: true) : null;

    /// <returns>Null when the header is missing or its Root is not an X-Ray trace id.</returns>
    public static XRayTraceHeader? TryParse(string? header)
    {
        if (string.IsNullOrEmpty(header))
        {
            return null;
        }

        string? root = null;
        ActivitySpanId? parent = null;
        var sampled = false;
        foreach (var part in header.Split(';', StringSplitOptions.TrimEntries | StringSplitOptions.RemoveEmptyEntries))
        {
            var equals = part.IndexOf('=', StringComparison.Ordinal);
            if (equals <= 0)
            {
                continue;
            }

            var value = part[(equals + 1)..];
            switch (part[..equals])
            {
                case "Root":
                    root = value;
                    break;
                case "Parent" when value.Length == 16 && IsHex(value) && value.Any(c => c != '0'):
                    parent = ActivitySpanId.CreateFromString(value.ToLowerInvariant());
                    break;
                case "Sampled":
                    sampled = value == "1";
                    break;
            }
        }

        if (root is not { Length: RootLength } || !root.StartsWith("1-", StringComparison.Ordinal) || root[10] != '-')
        {
            return null;
        }

        var hex = string.Concat(root.AsSpan(2, 8), root.AsSpan(11, 24));
        if (!IsHex(hex) || hex.All(c => c == '0'))
        {
            return null;
        }

        return new XRayTraceHeader(root, ActivityTraceId.CreateFromString(hex.ToLowerInvariant()), parent, sampled);
    }

    private static bool IsHex(string text) => text.All(char.IsAsciiHexDigit);
}
