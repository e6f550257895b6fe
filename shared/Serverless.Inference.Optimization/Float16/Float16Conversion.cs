using System.Globalization;
using Onnx;
using Serverless.Inference.Optimization.Onnx;

namespace Serverless.Inference.Optimization.Float16;

/// <summary>
/// The fp16 method: float weights stored as FP16 (half the file), operators with FP16 kernels on ONNX Runtime's CPU
/// provider run in FP16, every other operator stays FP32 behind casts, and the graph's inputs and outputs stay FP32
/// so callers see no change. ONNX Runtime then loads the result; an operator it refuses in FP16 is kept in FP32 and
/// the graph converted again, a bounded number of times.
/// </summary>
internal sealed class Float16Conversion : IGraphRewrite
{
    /// <summary>How many operators ONNX Runtime may refuse before the conversion gives up.</summary>
    private const int MaxRuntimeRefusals = 8;

    public OptimizationMethod Method => OptimizationMethod.Fp16;

    public RewriteResult Rewrite(RewriteRequest request, CancellationToken cancellationToken)
    {
        ArgumentNullException.ThrowIfNull(request);
        var model = request.Model.Clone();
        GraphNormalization.Normalize(model);
        RefuseExternalData(model.Graph);
        RefuseWithoutFloats(model.Graph);

        var refused = new SortedSet<string>(StringComparer.Ordinal);
        while (true)
        {
            cancellationToken.ThrowIfCancellationRequested();
            var pass = Float16GraphConverter.Convert(model, refused, cancellationToken);
            if (pass.ConvertedInitializers == 0 && pass.Float16Ops.Count == 0)
            {
                throw new OptimizationException(
                    $"nothing in the model can be stored or run in FP16: it has no float weights, and every operator that reads its float tensors stays FP32 on the CPU ({string.Join(", ", pass.KeptFloat32Ops)})");
            }

            cancellationToken.ThrowIfCancellationRequested();
            var check = RuntimeKernelCheck.Check(pass.Model);
            if (check.Loaded)
            {
                return new RewriteResult(pass.Model, pass.RewrittenNodes, Settings(pass, refused));
            }

            if (check.Operator is not { } op || !pass.Float16Ops.Contains(op) || refused.Count >= MaxRuntimeRefusals || !refused.Add(op))
            {
                throw new OptimizationException($"ONNX Runtime cannot load the FP16 variant: {check.Error}");
            }
        }
    }

    private static void RefuseExternalData(GraphProto graph)
    {
        if (graph.Initializer.FirstOrDefault(tensor => tensor.DataLocation == TensorProto.Types.DataLocation.External || tensor.ExternalData.Count > 0) is { } external)
        {
            throw new OptimizationException(
                $"tensor '{external.Name}' keeps its data in an external file, which the optimizer does not read; save the model as one file");
        }
    }

    /// <summary>
    /// FP16 needs something float to work on: a float weight to store at half the size, or a float input that FP16
    /// kernels could compute on. A model whose inputs are integers only still converts when it holds float weights
    /// (minilm: int64 token ids into a float embedding table and float layers); with integer inputs and no float
    /// weights there is nothing to convert, and an "fp16" copy that differs in name only is refused. (A model with
    /// float inputs but neither float weights nor FP16 kernels to run is refused after the conversion finds that.)
    /// </summary>
    private static void RefuseWithoutFloats(GraphProto graph)
    {
        var floatInputs = graph.Input.Any(input => input.Type?.TensorType?.ElemType == TensorData.Float);
        var floatWeights = graph.Initializer.Any(tensor => tensor.DataType == TensorData.Float);
        if (!floatInputs && !floatWeights)
        {
            throw new OptimizationException(
                "the model's inputs are not float (integers only) and it holds no float weights: an FP16 variant would change nothing");
        }
    }

    private static Dictionary<string, string> Settings(Float16Pass pass, IReadOnlyCollection<string> refused) => new(StringComparer.Ordinal)
    {
        ["weights"] = "fp16",
        ["io"] = "fp32",
        ["fp16_ops"] = List(pass.Float16Ops),
        ["kept_fp32"] = List(pass.KeptFloat32Ops),
        ["refused_by_runtime"] = List(refused),
        ["casts"] = pass.Casts.ToString(CultureInfo.InvariantCulture),
        ["converted_initializers"] = pass.ConvertedInitializers.ToString(CultureInfo.InvariantCulture),
        ["clamped"] = pass.Clamped.ToString(CultureInfo.InvariantCulture),
        ["kernels_checked_with"] = RuntimeKernelCheck.RuntimeName,
    };

    private static string List(IEnumerable<string> names) => names.Any() ? string.Join(",", names) : "none";
}
