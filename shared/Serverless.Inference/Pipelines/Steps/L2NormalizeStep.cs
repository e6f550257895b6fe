using Serverless.Inference.Runtime;

namespace Serverless.Inference.Pipelines.Steps;

/// <summary><c>{"type": "l2_normalize", "input": "embedding"}</c>: scales each vector along the last axis to unit length.</summary>
internal sealed record L2NormalizeStep(string Input, string? Output = null) : PipelineStep
{
    public override IReadOnlyList<string> Consumes => [Input];

    public override IReadOnlyList<string> Produces => [Output ?? Input];

    internal override IPipelineOperation Create(PipelineBuildContext context) => new Operation(this);

    private sealed class Operation(L2NormalizeStep step) : IPipelineOperation
    {
        public void Apply(PipelineRun run)
        {
            var input = run.Get(step.Input);
            if (input.DataType != TensorDataType.Fp32 || input.Shape.Length == 0)
            {
                throw new InferenceException(InferenceErrorKind.Internal, $"l2_normalize needs an FP32 tensor with at least one axis, not '{input.Name}' {input.DataType.ToProtocolName()}");
            }

            var output = PipelineTensor.Numbers(step.Output ?? step.Input, TensorDataType.Fp32, input.Shape);
            var width = (int)input.Shape[^1];
            var source = input.AsSpan<float>();
            var target = output.AsSpan<float>();
            for (var start = 0; width > 0 && start < source.Length; start += width)
            {
                var vector = source.Slice(start, width);
                var norm = MathF.Sqrt(System.Numerics.Tensors.TensorPrimitives.SumOfSquares(vector));
                System.Numerics.Tensors.TensorPrimitives.Divide(vector, Math.Max(norm, 1e-12f), target.Slice(start, width));
            }

            run.Set(output);
        }
    }
}
