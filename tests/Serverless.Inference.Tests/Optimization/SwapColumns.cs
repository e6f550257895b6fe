using Onnx;
using Serverless.Inference.Optimization;
using Serverless.Inference.Optimization.Onnx;

namespace Serverless.Inference.Tests.Optimization;

/// <summary>
/// A graph rewrite whose effect a test can work out by hand: it swaps the two columns of the weight "W", so the
/// variant's y = (y1, y0) where the source's is (y0, y1). Used where a test checks what the command does around a
/// rewrite (figures, gates, publishing), which must not depend on how well a quantizer approximates.
/// </summary>
internal sealed class SwapColumns : IGraphRewrite
{
    public OptimizationMethod Method => OptimizationMethod.Int8Dynamic;

    public RewriteResult Rewrite(RewriteRequest request, CancellationToken cancellationToken)
    {
        var model = request.Model.Clone();
        var weight = model.Graph.Initializer.Single(tensor => tensor.Name == "W");
        var values = TensorData.ReadFloats(weight);
        for (var row = 0; row < values.Length / 2; row++)
        {
            (values[2 * row], values[(2 * row) + 1]) = (values[(2 * row) + 1], values[2 * row]);
        }

        model.Graph.Initializer.Remove(weight);
        model.Graph.Initializer.Add(TensorData.Floats("W", [.. weight.Dims], values));
        return new RewriteResult(model, 1, new Dictionary<string, string> { ["swapped"] = "W" });
    }

    /// <summary>y = x · W with x float [N, 4] and W = the first two columns of the identity: y = (x0, x1).</summary>
    public static byte[] SourceModel() =>
        new TestModels.OnnxModelBuilder("swap")
            .Input("x", TestModels.OnnxElementType.Float, "N", 4)
            .Output("y", TestModels.OnnxElementType.Float, "N", 2)
            .Initializer<float>("W", [1, 0, 0, 1, 0, 0, 0, 0], 4, 2)
            .Node("MatMul", ["x", "W"], ["y"])
            .ToBytes();
}
