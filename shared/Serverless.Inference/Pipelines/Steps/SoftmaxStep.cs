using System.Numerics.Tensors;
using Serverless.Inference.Runtime;

namespace Serverless.Inference.Pipelines.Steps;

/// <summary>
/// <c>{"type": "softmax", "input": "logits", "output": "probabilities"}</c>: softmax over the last axis of an FP32
/// tensor, <c>exp(x − max) / Σ exp(x − max)</c> per vector, so large logits do not overflow. The output has the
/// input's shape; without <see cref="Output"/> it replaces the input. A vector holding NaN or +∞ gives NaN.
/// </summary>
internal sealed record SoftmaxStep(string Input, string? Output = null) : PipelineStep
{
    public override IReadOnlyList<string> Consumes => [Input];

    public override IReadOnlyList<string> Produces => [Output ?? Input];

    internal override IPipelineOperation Create(PipelineBuildContext context) =>
        string.IsNullOrEmpty(Input)
            ? throw new InferenceException(InferenceErrorKind.Unavailable, "softmax step: input is required")
            : new Operation(this);

    private sealed class Operation(SoftmaxStep step) : IPipelineOperation
    {
        public void Apply(PipelineRun run)
        {
            var input = run.Get(step.Input);
            var width = ClassScores.Width(input, "softmax");
            var output = PipelineTensor.Numbers(step.Output ?? step.Input, TensorDataType.Fp32, input.Shape);
            var source = input.AsSpan<float>();
            var target = output.AsSpan<float>();
            for (var start = 0; width > 0 && start < source.Length; start += width)
            {
                var vector = source.Slice(start, width);
                var result = target.Slice(start, width);
                TensorPrimitives.Subtract(vector, TensorPrimitives.Max(vector), result);
                TensorPrimitives.Exp(result, result);
                TensorPrimitives.Divide(result, TensorPrimitives.Sum(result), result);
            }

            run.Set(output);
        }
    }
}
