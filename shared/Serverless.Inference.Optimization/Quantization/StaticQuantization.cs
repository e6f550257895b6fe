namespace Serverless.Inference.Optimization.Quantization;

// Placeholder so the project builds while this rewrite is written; replaced as a whole by its author.
internal sealed class StaticQuantization : IGraphRewrite
{
    public OptimizationMethod Method => OptimizationMethod.Int8Static;

    public RewriteResult Rewrite(RewriteRequest request, CancellationToken cancellationToken) =>
        throw new OptimizationException("Int8Static is not written yet");
}
