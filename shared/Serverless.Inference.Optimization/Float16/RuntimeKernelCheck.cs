using System.Text.RegularExpressions;
using Google.Protobuf;
using Microsoft.ML.OnnxRuntime;
using Onnx;

namespace Serverless.Inference.Optimization.Float16;

/// <summary>
/// Asks ONNX Runtime itself whether it can run a converted graph: creates a CPU session as the hosts do
/// (all graph optimizations on) and, when that fails, reads which operator it refused from its message.
/// </summary>
internal static partial class RuntimeKernelCheck
{
    public static string RuntimeName => $"onnxruntime {OrtEnv.Instance().GetVersionString()} CPUExecutionProvider";

    public static KernelCheckResult Check(ModelProto model)
    {
        using var options = new SessionOptions
        {
            IntraOpNumThreads = 1,
            InterOpNumThreads = 1,
            ExecutionMode = ExecutionMode.ORT_SEQUENTIAL,
            GraphOptimizationLevel = GraphOptimizationLevel.ORT_ENABLE_ALL,
        };

        try
        {
            using var session = new InferenceSession(model.ToByteArray(), options);
            return new KernelCheckResult(null, null);
        }
        catch (OnnxRuntimeException e)
        {
            return new KernelCheckResult(e.Message, RefusedOperator(e.Message));
        }
    }

    /// <summary>
    /// The operator a load error names: a missing kernel ("Could not find an implementation for Relu(14) node with
    /// name '...'") or a type its schema does not allow ("Type Error: Type 'tensor(float16)' of input parameter (x) of
    /// operator (Range) in node (...) is invalid"; older runtimes write the type in parentheses).
    /// </summary>
    internal static string? RefusedOperator(string message) =>
        MissingKernel().Match(message) is { Success: true } missing ? missing.Groups["op"].Value
        : TypeError().Match(message) is { Success: true } type ? type.Groups["op"].Value
        : null;

    [GeneratedRegex(@"Could not find an implementation for (?<op>[A-Za-z0-9_]+)\(\d+\)")]
    private static partial Regex MissingKernel();

    [GeneratedRegex(@"Type Error: Type .{0,40}? of (?:input|output) parameter \([^)]*\) of operator \((?<op>[A-Za-z0-9_]+)\)")]
    private static partial Regex TypeError();
}
