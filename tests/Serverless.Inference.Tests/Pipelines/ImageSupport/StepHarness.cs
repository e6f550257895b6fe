using Serverless.Inference.Pipelines;
using Serverless.Inference.Runtime;

namespace Serverless.Inference.Tests.Pipelines.ImageSupport;

/// <summary>Prepares a pipeline step the way a model load does and applies it to tensors, without a model.</summary>
public static class StepHarness
{
    /// <summary>Prepares <paramref name="step"/> against a bare model signature and asset files (name to local path).</summary>
    internal static IPipelineOperation Prepare(PipelineStep step, ModelSignature? model = null, IReadOnlyDictionary<string, string>? assets = null) =>
        step.Create(new PipelineBuildContext(assets ?? new Dictionary<string, string>(), model ?? new ModelSignature([], [])));

    /// <summary>Runs one prepared step over <paramref name="inputs"/> and returns every tensor afterwards.</summary>
    internal static PipelineRun Apply(IPipelineOperation operation, params PipelineTensor[] inputs)
    {
        var run = new PipelineRun(CancellationToken.None);
        foreach (var input in inputs)
        {
            run.Set(input);
        }

        operation.Apply(run);
        return run;
    }

    /// <summary>Prepares and runs a step, returning the tensor it wrote as <paramref name="output"/>.</summary>
    internal static PipelineTensor Run(PipelineStep step, string output, params PipelineTensor[] inputs) =>
        Apply(Prepare(step), inputs).Get(output);

    /// <summary>A BYTES tensor [N] of image files (or their base64).</summary>
    internal static PipelineTensor Images(string name, params byte[][] files) => PipelineTensor.Texts(name, [files.Length], files);

    /// <summary>An FP32 tensor of the given shape.</summary>
    internal static PipelineTensor Floats(string name, long[] shape, params float[] values) =>
        PipelineTensor.Create(name, TensorDataType.Fp32, shape, values);

    /// <summary>The UTF-8 strings of a BYTES tensor.</summary>
    internal static string[] Texts(PipelineTensor tensor) => [.. tensor.Strings!.Select(s => System.Text.Encoding.UTF8.GetString(s))];

    /// <summary>Asserts the error kind and that the message contains each fragment.</summary>
    public static InferenceException AssertFails(InferenceErrorKind kind, Action action, params string[] fragments)
    {
        var error = Assert.Throws<InferenceException>(action);
        Assert.True(kind == error.Kind, $"expected {kind}, got {error.Kind}: {error.Message}");
        foreach (var fragment in fragments)
        {
            Assert.Contains(fragment, error.Message, StringComparison.Ordinal);
        }

        return error;
    }
}
