using System.Text.RegularExpressions;

namespace Serverless.Inference.Runtime;

/// <summary>
/// ONNX Runtime's messages as a caller may read them. The runtime writes its error code, the node that failed, its own
/// source file and line and the C++ function; what the caller can act on is the sentence at the end. The whole
/// message still goes to the log, as <see cref="InferenceException.Detail"/>.
/// </summary>
internal static partial class OnnxErrors
{
    private const string StatusMarker = "Status Message:";

    public static string CallerText(string message)
    {
        var text = message;
        var status = text.IndexOf(StatusMarker, StringComparison.Ordinal);
        if (status >= 0)
        {
            text = text[(status + StatusMarker.Length)..];
        }

        text = ErrorCode().Replace(text, "");
        text = SourceLocation().Replace(text, "");
        text = text.Trim();
        return text.Length == 0 || text.Contains("onnxruntime", StringComparison.OrdinalIgnoreCase) ? "the runtime refused it" : text;
    }

    [GeneratedRegex(@"^\s*\[ErrorCode:\w+\]\s*")]
    private static partial Regex ErrorCode();

    /// <summary>A source path with its line (<c>/onnxruntime_src/.../gather.cc:154</c>), then the C++ function it names, if any.</summary>
    [GeneratedRegex(@"\S+\.(?:cc|cpp|c|h|hpp):\d+\s*(?:[\w<>,*&~\s]*::[\w:<>,*&~\s]*\([^()]*\)(?:\s*const)?\s*)?")]
    private static partial Regex SourceLocation();
}
