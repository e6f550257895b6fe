using Onnx;

namespace Serverless.Inference.Optimization.Float16;

/// <summary>
/// Which default-domain operators ONNX Runtime's CPU execution provider runs on FP16 tensors, from the type
/// constraints its kernel registry publishes (docs/OperatorKernels.md, the CPUExecutionProvider table): on x64
/// that is data movement and a few element-wise operators; MatMul, Gemm, Conv, Add, Mul, Relu, Softmax and the
/// reductions have float kernels only. The opset ranges are those of the FP16 registrations (Clip takes FP16 from
/// opset 12, Dropout only up to 11). What this table gets wrong for a runtime build, the conversion learns from the
/// session ONNX Runtime refuses to create.
/// </summary>
internal static class Float16Kernels
{
    /// <summary>
    /// Operators that move or select values without computing on them: they run in whichever precision their data
    /// arrives in, so placing them never adds a cast where none is needed.
    /// </summary>
    private static readonly HashSet<string> DataMovement = new(StringComparer.Ordinal)
    {
        "Identity", "Reshape", "Flatten", "Squeeze", "Unsqueeze", "Transpose", "Slice", "Split", "Concat", "Expand",
        "Gather", "GatherElements", "GatherND", "Compress", "ReverseSequence", "ScatterElements", "ScatterND",
    };

    /// <summary>Operators that compute in FP16 on the CPU, with the opsets (inclusive) whose kernels take FP16.</summary>
    private static readonly Dictionary<string, (int From, int To)> Compute = new(StringComparer.Ordinal)
    {
        ["Clip"] = (12, int.MaxValue),
        ["Max"] = (12, int.MaxValue),
        ["Min"] = (12, int.MaxValue),
        ["Mod"] = (10, int.MaxValue),
        ["Round"] = (11, int.MaxValue),
        ["Sign"] = (9, int.MaxValue),
        ["Shrink"] = (9, int.MaxValue),
        ["Dropout"] = (7, 11),
        ["LayerNormalization"] = (1, int.MaxValue),
        ["RMSNormalization"] = (23, int.MaxValue),
    };

    /// <summary>Operators that read any element type (a cast, a shape) and so never need their input cast.</summary>
    private static readonly HashSet<string> AnyInput = new(StringComparer.Ordinal) { "Cast", "Shape" };

    /// <summary>Outputs that stay float whatever the node's precision (LayerNormalization's mean and inverse deviation).</summary>
    private static readonly Dictionary<string, int> FirstFloatOnlyOutput = new(StringComparer.Ordinal)
    {
        ["LayerNormalization"] = 1,
    };

    public static bool IsDefaultDomain(NodeProto node) => node.Domain is "" or "ai.onnx";

    public static bool ReadsAnyType(NodeProto node) => IsDefaultDomain(node) && AnyInput.Contains(node.OpType);

    public static bool MovesData(NodeProto node) => IsDefaultDomain(node) && DataMovement.Contains(node.OpType);

    /// <summary>Whether the CPU provider has an FP16 kernel for the node at the model's opset.</summary>
    public static bool HasFloat16Kernel(NodeProto node, int opset) =>
        IsDefaultDomain(node) &&
        (DataMovement.Contains(node.OpType) || (Compute.TryGetValue(node.OpType, out var range) && opset >= range.From && opset <= range.To));

    /// <summary>Whether an output of a node running in FP16 is FP16 too (false for outputs typed float by the operator).</summary>
    public static bool OutputFollowsPrecision(NodeProto node, int output) =>
        !FirstFloatOnlyOutput.TryGetValue(node.OpType, out var first) || output < first;
}
