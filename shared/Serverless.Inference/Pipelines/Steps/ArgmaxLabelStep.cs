using Serverless.Inference.Runtime;

namespace Serverless.Inference.Pipelines.Steps;

/// <summary>
/// <c>{"type": "argmax_label", "input": "scores", "labels": "labels.txt", "output": "label"}</c>: the label of the
/// highest score of each vector (the last axis of an FP32 tensor), as a BYTES tensor with the last axis dropped:
/// [N, K] gives [N]. Equal scores pick the first class; NaN never wins unless every score is NaN.
/// </summary>
/// <param name="Input">The FP32 scores, classes on the last axis.</param>
/// <param name="Output">The BYTES tensor of labels.</param>
/// <param name="Labels">
/// One label per line, line i naming class i, as for <see cref="TopKStep.Labels"/>: a file with fewer lines than
/// there are classes fails the model's load when the class count is declared by the model output the step reads,
/// else each request with 503. Without a labels file, the label is the class index as decimal text.
/// </param>
internal sealed record ArgmaxLabelStep(string Input, string Output, string? Labels = null) : PipelineStep
{
    public override IReadOnlyList<string> Consumes => [Input];

    public override IReadOnlyList<string> Produces => [Output];

    public override IReadOnlyList<string> Assets => Labels is null ? [] : [Labels];

    internal override IPipelineOperation Create(PipelineBuildContext context)
    {
        const string Step = "argmax_label step";
        if (string.IsNullOrEmpty(Input) || string.IsNullOrEmpty(Output))
        {
            throw new InferenceException(InferenceErrorKind.Unavailable, $"{Step}: input and output are required");
        }

        return new Operation(this, ClassLabels.Load(context, Labels, Input, Step));
    }

    private sealed class Operation(ArgmaxLabelStep step, ClassLabels labels) : IPipelineOperation
    {
        public void Apply(PipelineRun run)
        {
            var input = run.Get(step.Input);
            var width = ClassScores.Width(input, "argmax_label");
            labels.Check(width);
            if (width == 0)
            {
                throw InferenceException.BadRequest($"argmax_label: '{input.Name}' has no classes to choose from");
            }

            var rows = input.ElementCount / width;
            var names = new byte[rows][];
            var source = input.AsSpan<float>();
            Span<int> best = stackalloc int[1];
            for (var row = 0; row < rows; row++)
            {
                ClassScores.Best(source.Slice(row * width, width), best);
                names[row] = labels[best[0]];
            }

            run.Set(PipelineTensor.Texts(step.Output, input.Shape[..^1], names));
        }
    }
}
