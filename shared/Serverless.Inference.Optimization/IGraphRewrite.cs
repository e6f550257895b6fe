namespace Serverless.Inference.Optimization;

/// <summary>One way of making a variant: a rewrite of the source model's ONNX graph.</summary>
internal interface IGraphRewrite
{
    OptimizationMethod Method { get; }

    /// <summary>
    /// Returns the rewritten model; the request's model is not changed. Throws <see cref="OptimizationException"/>
    /// when the model has nothing this method can rewrite or an input (calibration data) does not fit the model.
    /// </summary>
    RewriteResult Rewrite(RewriteRequest request, CancellationToken cancellationToken);
}
