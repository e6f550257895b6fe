using System.Globalization;
using System.Text;
using Serverless.Inference.Runtime;

namespace Serverless.Inference.Pipelines.Steps;

/// <summary>
/// <c>{"type": "top_k", "input": "probabilities", "k": 5, "labels": "labels.txt", "output_labels": "labels", "output_scores": "scores"}</c>:
/// the k best classes of each score vector (the last axis of an FP32 tensor, e.g. [N, K]), best first.
/// <see cref="OutputLabels"/> is a BYTES tensor [N, k] of their labels and <see cref="OutputScores"/> an FP32
/// tensor [N, k] of their scores, as given (run <c>softmax</c> first for probabilities). Equal scores keep class
/// order; NaN ranks last.
/// </summary>
/// <param name="Input">The FP32 scores, classes on the last axis.</param>
/// <param name="K">How many classes per vector, at least 1 and at most the number of classes.</param>
/// <param name="Labels">
/// A file in the model's version folder with one label per line (UTF-8; trailing empty lines ignored); line i names
/// class i. It must have at least as many lines as there are classes (extra lines are unused). A shorter file is the
/// model packager's mistake, not the caller's: the model fails to load (503 from ready and infer) when the model's
/// output declares its class count and the step reads that output directly, otherwise each request is refused with
/// 503. Without a labels file, a class's label is its index as decimal text.
/// </param>
/// <param name="OutputLabels">The BYTES tensor of labels; <c>top_k_labels</c> by default.</param>
/// <param name="OutputScores">The FP32 tensor of scores; <c>top_k_scores</c> by default.</param>
internal sealed record TopKStep(string Input, int K = 1, string? Labels = null, string OutputLabels = "top_k_labels", string OutputScores = "top_k_scores")
    : PipelineStep
{
    public override IReadOnlyList<string> Consumes => [Input];

    public override IReadOnlyList<string> Produces => [OutputLabels, OutputScores];

    public override IReadOnlyList<string> Assets => Labels is null ? [] : [Labels];

    internal override IPipelineOperation Create(PipelineBuildContext context)
    {
        const string Step = "top_k step";
        if (string.IsNullOrEmpty(Input) || string.IsNullOrEmpty(OutputLabels) || string.IsNullOrEmpty(OutputScores) || OutputLabels == OutputScores)
        {
            throw new InferenceException(InferenceErrorKind.Unavailable, $"{Step}: input, output_labels and output_scores are required, the two outputs distinct");
        }

        if (K < 1)
        {
            throw new InferenceException(InferenceErrorKind.Unavailable, $"{Step} on '{Input}': k must be at least 1, not {K}");
        }

        var labels = ClassLabels.Load(context, Labels, Input, Step);
        if (ClassScores.DeclaredWidth(context, Input) is { } width && K > width)
        {
            throw new InferenceException(InferenceErrorKind.Unavailable, $"{Step} on '{Input}': k is {K}, but the model's output has only {width} classes");
        }

        return new Operation(this, labels);
    }

    private sealed class Operation(TopKStep step, ClassLabels labels) : IPipelineOperation
    {
        public void Apply(PipelineRun run)
        {
            var input = run.Get(step.Input);
            var width = ClassScores.Width(input, "top_k");
            labels.Check(width);
            if (step.K > width)
            {
                throw new InferenceException(InferenceErrorKind.Unavailable, $"top_k step on '{input.Name}': k is {step.K}, but the scores have only {width} classes");
            }

            var rows = input.ElementCount / width;
            long[] shape = [.. input.Shape[..^1], step.K];
            var scores = PipelineTensor.Numbers(step.OutputScores, TensorDataType.Fp32, shape);
            var names = new byte[rows * step.K][];
            var source = input.AsSpan<float>();
            var target = scores.AsSpan<float>();
            Span<int> best = step.K <= 256 ? stackalloc int[step.K] : new int[step.K];
            for (var row = 0; row < rows; row++)
            {
                var vector = source.Slice(row * width, width);
                ClassScores.Best(vector, best);
                for (var i = 0; i < step.K; i++)
                {
                    target[(row * step.K) + i] = vector[best[i]];
                    names[(row * step.K) + i] = labels[best[i]];
                }
            }

            run.Set(PipelineTensor.Texts(step.OutputLabels, shape, names));
            run.Set(scores);
        }
    }
}

/// <summary>Reading score vectors: the last axis of an FP32 tensor holds one score per class.</summary>
internal static class ClassScores
{
    /// <summary>The number of classes, the last dimension; a tensor that is not FP32 with a last axis is a pipeline mistake.</summary>
    public static int Width(PipelineTensor scores, string step) =>
        scores.DataType == TensorDataType.Fp32 && scores.Shape.Length > 0
            ? checked((int)scores.Shape[^1])
            : throw new InferenceException(InferenceErrorKind.Internal, $"{step} needs an FP32 tensor with at least one axis, not '{scores.Name}' {scores.DataType.ToProtocolName()}[{string.Join(',', scores.Shape)}]");

    /// <summary>The class count when the step reads a model output whose last dimension is fixed; else null.</summary>
    public static long? DeclaredWidth(PipelineBuildContext context, string input) =>
        context.Model.FindOutput(input) is { Shape: [.., var last] } && last > 0 ? last : null;

    /// <summary>Fills <paramref name="best"/> with the indices of the highest scores, best first; ties keep class order, NaN ranks last.</summary>
    public static void Best(ReadOnlySpan<float> vector, Span<int> best)
    {
        var count = 0;
        for (var j = 0; j < vector.Length; j++)
        {
            var value = vector[j];
            if (count == best.Length && !Beats(value, vector[best[count - 1]]))
            {
                continue;
            }

            var at = count < best.Length ? count++ : count - 1;
            while (at > 0 && Beats(value, vector[best[at - 1]]))
            {
                best[at] = best[at - 1];
                at--;
            }

            best[at] = j;
        }
    }

    private static bool Beats(float value, float other) => value > other || (float.IsNaN(other) && !float.IsNaN(value));
}

/// <summary>Class labels from a labels file, one per line; or class indices when the step has no file.</summary>
internal sealed class ClassLabels
{
    private readonly byte[][]? _labels;
    private readonly string _source;

    private ClassLabels(byte[][]? labels, string source)
    {
        _labels = labels;
        _source = source;
    }

    /// <summary>The UTF-8 label of class <paramref name="index"/>.</summary>
    public byte[] this[int index] => _labels is null ? Encoding.UTF8.GetBytes(index.ToString(CultureInfo.InvariantCulture)) : _labels[index];

    /// <summary>Reads the labels file and checks it against the model output the step reads, when that is known.</summary>
    public static ClassLabels Load(PipelineBuildContext context, string? file, string input, string step)
    {
        if (file is null)
        {
            return new ClassLabels(null, step);
        }

        var source = $"{step} on '{input}'";
        if (!context.AssetPaths.TryGetValue(file, out var path))
        {
            throw new InferenceException(InferenceErrorKind.Unavailable, $"{source}: the labels file {file} was not found");
        }

        List<string> lines;
        try
        {
            lines = [.. File.ReadAllLines(path, Encoding.UTF8)];
        }
        catch (IOException e)
        {
            throw new InferenceException(InferenceErrorKind.Unavailable, $"{source}: the labels file {file} could not be read: {e.Message}", e);
        }

        while (lines.Count > 0 && lines[^1].Length == 0)
        {
            lines.RemoveAt(lines.Count - 1);
        }

        if (lines.Count == 0)
        {
            throw new InferenceException(InferenceErrorKind.Unavailable, $"{source}: the labels file {file} is empty");
        }

        var labels = new ClassLabels([.. lines.Select(Encoding.UTF8.GetBytes)], $"{source}: the labels file {file}");
        if (ClassScores.DeclaredWidth(context, input) is { } width)
        {
            labels.Check(width);
        }

        return labels;
    }

    /// <summary>Refuses (503: the package's fault, not the caller's) a labels file that cannot name every class.</summary>
    public void Check(long width)
    {
        if (_labels is not null && _labels.Length < width)
        {
            throw new InferenceException(
                InferenceErrorKind.Unavailable,
                $"{_source} has {_labels.Length} label(s), but the model's output has {width} classes");
        }
    }
}
