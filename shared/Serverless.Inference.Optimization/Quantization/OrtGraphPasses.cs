using Microsoft.ML.OnnxRuntime;
using Onnx;
using Serverless.Inference.Optimization.Onnx;

namespace Serverless.Inference.Optimization.Quantization;

/// <summary>
/// Graph passes left to ONNX Runtime itself: a session saves the graph it optimized. At the basic level it folds
/// BatchNormalization into the Conv before it and folds constants, keeping standard ONNX operators (what ONNX
/// Runtime's quant_pre_process does before quantizing); at the full level it shows which QDQ groups it fused.
/// </summary>
internal static class OrtGraphPasses
{
    /// <summary>The model as ONNX Runtime's basic optimizations leave it: BatchNormalization folded, constants folded.</summary>
    public static ModelProto FoldBatchNormalization(ModelProto model) => Optimize(model, GraphOptimizationLevel.ORT_ENABLE_BASIC);

    /// <summary>How many nodes of each operator the graph has once ONNX Runtime has optimized it fully (QDQ fusion included).</summary>
    public static IReadOnlyDictionary<string, int> OperatorsAfterFusion(ModelProto model) =>
        Optimize(model, GraphOptimizationLevel.ORT_ENABLE_ALL).Graph.Node
            .GroupBy(node => node.OpType, StringComparer.Ordinal)
            .ToDictionary(group => group.Key, group => group.Count(), StringComparer.Ordinal);

    private static ModelProto Optimize(ModelProto model, GraphOptimizationLevel level)
    {
        using var scratch = new ScratchFolder();
        var source = scratch.File("source.onnx");
        var optimized = scratch.File("optimized.onnx");
        OnnxModelFile.Save(model, source);
        using var options = new SessionOptions
        {
            GraphOptimizationLevel = level,
            OptimizedModelFilePath = optimized,
            IntraOpNumThreads = 1,
            InterOpNumThreads = 1,
            // Saving a graph with CPU-specific layouts draws a warning; this copy is only read back and counted.
            LogSeverityLevel = OrtLoggingLevel.ORT_LOGGING_LEVEL_ERROR,
        };

        try
        {
            using var session = new InferenceSession(source, options);
        }
        catch (OnnxRuntimeException e)
        {
            throw new OptimizationException($"ONNX Runtime cannot load the model: {e.Message}", e);
        }

        return OnnxModelFile.Load(optimized);
    }
}
