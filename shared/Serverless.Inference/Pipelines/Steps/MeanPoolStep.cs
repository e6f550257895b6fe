using System.Numerics.Tensors;
using Serverless.Inference.Runtime;

namespace Serverless.Inference.Pipelines.Steps;

/// <summary>
/// <c>{"type": "mean_pool", "input": "last_hidden_state", "mask": "attention_mask", "output": "embedding"}</c>:
/// sentence-transformers' mean pooling. From FP32 token vectors [N, L, H] and an INT64 attention mask [N, L],
/// each row's output [N, H] is the mean of its token vectors where the mask is not 0 (padding left out);
/// a row with no such token gives zeros.
/// </summary>
/// <param name="Input">The token vectors, FP32 [N, L, H].</param>
/// <param name="Mask">The attention mask, INT64 [N, L].</param>
/// <param name="Output">The pooled tensor's name; the input's when absent.</param>
internal sealed record MeanPoolStep(string Input, string Mask, string? Output = null) : PipelineStep
{
    public override IReadOnlyList<string> Consumes => [Input, Mask];

    public override IReadOnlyList<string> Produces => [Output ?? Input];

    internal override IPipelineOperation Create(PipelineBuildContext context) =>
        string.IsNullOrEmpty(Input) || string.IsNullOrEmpty(Mask)
            ? throw new InferenceException(InferenceErrorKind.Unavailable, "mean_pool: 'input' (the token vectors) and 'mask' (the attention mask) are required")
            : new Operation(this);

    private sealed class Operation(MeanPoolStep step) : IPipelineOperation
    {
        public void Apply(PipelineRun run)
        {
            var input = run.Get(step.Input);
            var mask = run.Get(step.Mask);
            if (input.DataType != TensorDataType.Fp32 || input.Shape.Length != 3)
            {
                throw new InferenceException(
                    InferenceErrorKind.Internal,
                    $"mean_pool needs FP32 token vectors [N, L, H], not '{input.Name}' {input.DataType.ToProtocolName()} [{string.Join(',', input.Shape)}]");
            }

            if (mask.DataType != TensorDataType.Int64 || mask.Shape is not [var maskRows, var maskLength] || maskRows != input.Shape[0] || maskLength != input.Shape[1])
            {
                throw new InferenceException(
                    InferenceErrorKind.Internal,
                    $"mean_pool needs an INT64 mask [{input.Shape[0]}, {input.Shape[1]}] for '{input.Name}', not '{mask.Name}' {mask.DataType.ToProtocolName()} [{string.Join(',', mask.Shape)}]");
            }

            var (rows, length, width) = ((int)input.Shape[0], (int)input.Shape[1], (int)input.Shape[2]);
            var output = PipelineTensor.Numbers(step.Output ?? step.Input, TensorDataType.Fp32, [rows, width]);
            var vectors = input.AsSpan<float>();
            var weights = mask.AsSpan<long>();
            var pooled = output.AsSpan<float>();
            for (var row = 0; row < rows; row++)
            {
                var sum = pooled.Slice(row * width, width);
                var count = 0;
                for (var position = 0; position < length; position++)
                {
                    var token = (row * length) + position;
                    if (weights[token] != 0)
                    {
                        TensorPrimitives.Add(sum, vectors.Slice(token * width, width), sum);
                        count++;
                    }
                }

                if (count > 0)
                {
                    TensorPrimitives.Divide(sum, count, sum);
                }
            }

            run.Set(output);
        }
    }
}
