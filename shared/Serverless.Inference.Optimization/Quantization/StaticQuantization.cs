using System.Globalization;
using Onnx;
using Serverless.Inference.Optimization.Calibration;
using Serverless.Inference.Optimization.Onnx;

namespace Serverless.Inference.Optimization.Quantization;

/// <summary>
/// int8 static quantization in ONNX Runtime's QDQ format, for convolutional models. As ONNX Runtime's own tool:
/// BatchNormalization is folded into the Conv before it (by ONNX Runtime's basic optimizations); calibration rows
/// run through that model give each activation's min/max; Conv (per output channel), MatMul and Gemm weights
/// become int8, activations uint8 through QuantizeLinear/DequantizeLinear pairs, biases int32.
/// </summary>
internal sealed class StaticQuantization : IGraphRewrite
{
    /// <summary>QuantizeLinear/DequantizeLinear with an axis (per-channel weights) are standard from this opset on.</summary>
    private const int FirstOpsetWithPerAxisQdq = 13;

    /// <summary>
    /// Below that opset: ONNX Runtime's contrib QuantizeLinear/DequantizeLinear, which take an axis at any opset and
    /// which its QDQ fusion accepts. Raising the model's opset instead would change what other operators mean
    /// (Clip, Softmax, Slice, Squeeze...).
    /// </summary>
    private const string ContribDomain = "com.microsoft";

    /// <summary>QLinearConv and QLinearMatMul, which ONNX Runtime's QDQ fusion creates in the default domain, exist from this opset on.</summary>
    private const int FirstOpsetWithIntegerOperators = 10;

    /// <summary>
    /// The operators whose meaning changes on the way from opset 8 or 9 to 10 (inputs that were attributes, a
    /// different batch layout): a model below 10 with none of them is the same model at opset 10. The others only
    /// gained types or optional attributes whose defaults keep the old behaviour (MaxPool, AveragePool, Cast, Gemm...).
    /// </summary>
    private static readonly HashSet<string> ChangedBeforeOpset10 = new(["Slice", "TopK", "Upsample", "Scan", "Dropout"], StringComparer.Ordinal);

    public OptimizationMethod Method => OptimizationMethod.Int8Static;

    public RewriteResult Rewrite(RewriteRequest request, CancellationToken cancellationToken)
    {
        ArgumentNullException.ThrowIfNull(request);
        var model = request.Model.Clone();
        GraphNormalization.Normalize(model);
        if (QuantizableNode.Find(new GraphEditor(model), request.Options.PerChannel).Count == 0)
        {
            throw new OptimizationException("the model has no Conv, MatMul or Gemm with constant float weights: int8-static has nothing to quantize");
        }

        if (request.CalibrationFile is null)
        {
            throw new OptimizationException(ActivationCalibrator.NoCalibrationFile);
        }

        var batchNormalizations = Count(model, "BatchNormalization");
        model = OrtGraphPasses.FoldBatchNormalization(model);
        var editor = new GraphEditor(model);
        var targets = QuantizableNode.Find(editor, request.Options.PerChannel);
        IReadOnlyCollection<string> activations = [.. targets.SelectMany(target => Activations(editor, target)).Distinct(StringComparer.Ordinal)];

        // Before calibration, so a model that cannot be raised is refused without running the calibration rows first.
        var opset = editor.OpsetVersion();
        var sourceOpset = opset;
        if (opset < FirstOpsetWithIntegerOperators)
        {
            RaiseOpset(model, opset);
            opset = FirstOpsetWithIntegerOperators;
        }

        var ranges = ActivationCalibrator.Collect(model, activations, request, cancellationToken);

        var domain = opset >= FirstOpsetWithPerAxisQdq ? "" : ContribDomain;
        if (domain.Length > 0)
        {
            editor.ImportOpset(domain, 1);
        }

        var inserter = new QdqInserter(editor, domain);
        foreach (var target in targets)
        {
            cancellationToken.ThrowIfCancellationRequested();
            inserter.Quantize(target, ranges);
        }

        var fused = OrtGraphPasses.OperatorsAfterFusion(model);
        var settings = new Dictionary<string, string>(StringComparer.Ordinal)
        {
            ["weights"] = request.Options.PerChannel
                ? "int8 symmetric; Conv per output channel (axis 0), MatMul and Gemm per tensor"
                : "int8 symmetric, per tensor",
            ["activations"] = "uint8 asymmetric, min/max of the calibration rows",
            ["biases"] = "int32, scale = input scale x weight scale, zero point 0",
            ["calibration_rows"] = ranges.Rows.ToString(CultureInfo.InvariantCulture),
            ["qdq_pairs"] = inserter.ActivationPairs.ToString(CultureInfo.InvariantCulture),
            ["opset"] = sourceOpset == opset
                ? opset.ToString(CultureInfo.InvariantCulture)
                : $"raised from {sourceOpset} to {opset}: ONNX Runtime fuses QDQ groups into QLinearConv, which exists from opset {opset}; none of the model's operators changes meaning between them",
            ["qdq_operators"] = domain.Length > 0 ? $"{domain} (the model's opset {opset} has no per-axis QuantizeLinear)" : $"ai.onnx opset {opset}",
            ["batch_normalization_folded"] = (batchNormalizations - Count(model, "BatchNormalization")).ToString(CultureInfo.InvariantCulture),
            ["fused_by_onnxruntime"] = Describe(fused),
        };

        return new RewriteResult(model, targets.Count, settings);
    }

    /// <summary>What a node's group reads and writes in uint8: its data input, and its output unless the caller reads it.</summary>
    private static IEnumerable<string> Activations(GraphEditor editor, QuantizableNode target)
    {
        yield return target.Activation;
        if (!editor.IsGraphOutput(target.Output))
        {
            yield return target.Output;
        }
    }

    /// <summary>
    /// Raises the default opset to 10 when that changes no node's meaning, as ONNX Runtime's quantization tool raises an
    /// older model's opset; otherwise refuses, since QDQ groups fused below opset 10 make a model ONNX Runtime cannot load.
    /// </summary>
    private static void RaiseOpset(ModelProto model, int opset)
    {
        var changed = model.Graph.Node
            .Where(node => node.Domain is "" or "ai.onnx")
            .Where(node => ChangedBeforeOpset10.Contains(node.OpType) || (node.OpType == "BatchNormalization" && node.Int("spatial", 1) == 0))
            .Select(node => node.OpType)
            .Distinct(StringComparer.Ordinal)
            .ToList();
        if (changed.Count > 0)
        {
            throw new OptimizationException(
                $"the model's opset {opset} predates the integer operators ONNX Runtime fuses QDQ into (opset {FirstOpsetWithIntegerOperators}), and its {string.Join(", ", changed)} node(s) mean something else at opset {FirstOpsetWithIntegerOperators}; convert the model to opset {FirstOpsetWithIntegerOperators} or later first");
        }

        foreach (var import in model.OpsetImport.Where(import => import.Domain is "" or "ai.onnx"))
        {
            import.Version = FirstOpsetWithIntegerOperators;
        }
    }

    private static int Count(ModelProto model, string opType) => model.Graph.Node.Count(node => node.OpType == opType);

    /// <summary>The integer operators ONNX Runtime made of the QDQ groups, and the Q/DQ it left standing.</summary>
    private static string Describe(IReadOnlyDictionary<string, int> operators)
    {
        var shown = operators
            .Where(op => op.Key.StartsWith("QLinear", StringComparison.Ordinal) || op.Key is "QGemm" or "QuantizeLinear" or "DequantizeLinear" or "Conv" or "MatMul" or "Gemm" or "FusedConv" or "FusedMatMul")
            .OrderBy(op => op.Key, StringComparer.Ordinal)
            .Select(op => $"{op.Key}={op.Value}");
        return string.Join(", ", shown);
    }
}
