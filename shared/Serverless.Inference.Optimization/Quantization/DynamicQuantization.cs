namespace Serverless.Inference.Optimization.Quantization;

// Placeholder so the project builds while this rewrite is written; replaced as a whole by its author.
internal sealed class DynamicQuantization : IGraphRewrite
{
    public OptimizationMethod Method => OptimizationMethod.Int8Dynamic;

    public RewriteResult Rewrite(RewriteRequest request, CancellationToken cancellationToken) =>
        throw new OptimizationException("Int8Dynamic is not written yet");
}
