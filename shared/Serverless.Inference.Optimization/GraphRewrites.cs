using Serverless.Inference.Optimization.Float16;
using Serverless.Inference.Optimization.Quantization;

namespace Serverless.Inference.Optimization;

/// <summary>The rewrite behind each method.</summary>
internal static class GraphRewrites
{
    public static IGraphRewrite For(OptimizationMethod method) => method switch
    {
        OptimizationMethod.Int8Dynamic => new DynamicQuantization(),
        OptimizationMethod.Int8Static => new StaticQuantization(),
        OptimizationMethod.Fp16 => new Float16Conversion(),
        _ => throw new ArgumentOutOfRangeException(nameof(method), method, null),
    };
}
