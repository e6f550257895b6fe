using Serverless.Inference.Pipelines.Steps;
using Serverless.Inference.Runtime;

namespace Serverless.Inference.Pipelines;

/// <summary>
/// A model with its pre- and post-processing, run in the same process around the session: callers send
/// what the pipeline's inputs say (text, image bytes) and get its outputs (embeddings, labels). A request
/// that sends the model's own tensors instead skips the pipeline, so the raw signature stays usable.
/// </summary>
internal sealed class PipelineModel : IInferenceModel
{
    private readonly OnnxModel _model;
    private readonly IReadOnlyList<IPipelineOperation> _preprocess;
    private readonly IReadOnlyList<IPipelineOperation> _postprocess;
    private readonly string[] _modelOutputs;
    private readonly BertTokenizeStep? _tokenizer;

    private PipelineModel(OnnxModel model, ModelSignature signature, IReadOnlyList<IPipelineOperation> preprocess, IReadOnlyList<IPipelineOperation> postprocess, BertTokenizeStep? tokenizer)
    {
        _model = model;
        _tokenizer = tokenizer;
        Signature = signature;
        _preprocess = preprocess;
        _postprocess = postprocess;
        _modelOutputs = [.. model.Signature.Outputs.Select(output => output.Name)];
    }

    public ModelSignature Signature { get; }

    /// <summary>Checks the pipeline against the model and prepares every step.</summary>
    /// <param name="assetPaths">Local paths of the files the steps name, by file name.</param>
    public static PipelineModel Create(OnnxModel model, PipelineManifest pipeline, IReadOnlyDictionary<string, string> assetPaths, string source)
    {
        if (pipeline.Inputs.Count == 0 || pipeline.Outputs.Count == 0)
        {
            throw new InferenceException(InferenceErrorKind.Unavailable, $"{source}: a pipeline declares its inputs and outputs");
        }

        var signature = new ModelSignature(
            [.. pipeline.Inputs.Select(input => input.ToSpec(source))],
            [.. pipeline.Outputs.Select(output => output.ToSpec(source))]);

        // Every tensor a step or the model reads must be produced before it: a typo fails the load, not a request.
        var available = new HashSet<string>(signature.Inputs.Select(input => input.Name), StringComparer.Ordinal);
        CheckSteps(pipeline.Preprocess, available, source);
        var missing = model.Signature.Inputs.Select(input => input.Name).Where(name => !available.Contains(name)).ToList();
        if (missing.Count > 0)
        {
            throw new InferenceException(InferenceErrorKind.Unavailable, $"{source}: no pipeline step produces the model input(s) {string.Join(", ", missing)}");
        }

        available.UnionWith(model.Signature.Outputs.Select(output => output.Name));
        CheckSteps(pipeline.Postprocess, available, source);
        var unproduced = signature.Outputs.Select(output => output.Name).Where(name => !available.Contains(name)).ToList();
        if (unproduced.Count > 0)
        {
            throw new InferenceException(InferenceErrorKind.Unavailable, $"{source}: nothing produces the pipeline output(s) {string.Join(", ", unproduced)}");
        }

        var context = new PipelineBuildContext(assetPaths, model.Signature);
        return new PipelineModel(
            model,
            signature,
            [.. pipeline.Preprocess.Select(step => step.Create(context))],
            [.. pipeline.Postprocess.Select(step => step.Create(context))],
            pipeline.Preprocess.OfType<BertTokenizeStep>().FirstOrDefault());
    }

    public ModelOutputs Run(IReadOnlyList<InputTensor> inputs, IReadOnlyList<string>? outputNames, CancellationToken cancellationToken)
    {
        ArgumentNullException.ThrowIfNull(inputs);
        if (SendsRawTensors(inputs))
        {
            return _model.Run(inputs, outputNames, cancellationToken);
        }

        // The batch limit applies to what the caller sends: checked only on the model's tensors, a request of a
        // million texts would be tokenized into [N, L] tensors first, and refused under a name it never used.
        SignatureChecks.Validate(Signature, inputs, _model.MaxBatchSize);
        var outputs = outputNames is null || outputNames.Count == 0
            ? Signature.Outputs
            : [.. outputNames.Select(name => Signature.FindOutput(name) ?? throw SignatureChecks.UnknownOutput(Signature, name))];

        var run = RunPreprocess(inputs, cancellationToken);
        using (var modelOutputs = _model.Run([.. _model.Signature.Inputs.Select(input => run.Get(input.Name).ToInput())], _modelOutputs, cancellationToken))
        {
            foreach (var output in modelOutputs.Tensors)
            {
                run.Set(PipelineTensor.From(output));
            }
        }

        foreach (var step in _postprocess)
        {
            step.Apply(run);
        }

        return new ModelOutputs([.. outputs.Select(output => run.Get(output.Name).ToOutput())], run.RowCounts);
    }

    /// <summary>
    /// The model's own tensors for pipeline inputs (images, texts): the steps before the session, which is not run.
    /// The optimizer feeds them to a copy of the model to calibrate it. The tensors stay valid while the caller holds them.
    /// </summary>
    internal IReadOnlyList<InputTensor> Preprocess(IReadOnlyList<InputTensor> inputs, CancellationToken cancellationToken)
    {
        ArgumentNullException.ThrowIfNull(inputs);
        SignatureChecks.Validate(Signature, inputs, _model.MaxBatchSize);
        var run = RunPreprocess(inputs, cancellationToken);
        return [.. _model.Signature.Inputs.Select(input => run.Get(input.Name).ToInput())];
    }

    public long EstimateWorkingBytes(IReadOnlyList<InputTensor> inputs)
    {
        ArgumentNullException.ThrowIfNull(inputs);
        if (SendsRawTensors(inputs) || inputs.Count == 0)
        {
            return _model.EstimateWorkingBytes(inputs);
        }

        var rows = _model.MaxBatchSize > 0 && inputs[0].Shape.Length > 0 ? Math.Max(1, inputs[0].Shape[0]) : 1;
        var fraction = 1.0;
        if (_tokenizer is { } tokenizer && inputs.FirstOrDefault(input => input.Name == tokenizer.Input) is { Strings: { } texts } textInput)
        {
            // Known before tokenizing: a text of n bytes makes at most n word pieces, plus [CLS] and [SEP].
            var longest = 0;
            for (var i = 0; i < textInput.ElementCount; i++)
            {
                longest = Math.Max(longest, texts[i]?.Length ?? 0);
            }

            fraction = Math.Clamp((longest + 2.0) / tokenizer.MaxLength, 0.1, 1.0);
        }

        return WorkingMemory.RunBytes + (long)(rows * _model.RowBytes * fraction);
    }

    private PipelineRun RunPreprocess(IReadOnlyList<InputTensor> inputs, CancellationToken cancellationToken)
    {
        var run = new PipelineRun(cancellationToken);
        foreach (var input in inputs)
        {
            run.Set(PipelineTensor.From(input));
        }

        foreach (var step in _preprocess)
        {
            step.Apply(run);
        }

        return run;
    }

    private bool SendsRawTensors(IReadOnlyList<InputTensor> inputs) =>
        inputs.All(input => Signature.FindInput(input.Name) is null && _model.Signature.FindInput(input.Name) is not null);

    private static void CheckSteps(IReadOnlyList<PipelineStep> steps, HashSet<string> available, string source)
    {
        foreach (var step in steps)
        {
            var missing = step.Consumes.Where(name => !available.Contains(name)).ToList();
            if (missing.Count > 0)
            {
                throw new InferenceException(
                    InferenceErrorKind.Unavailable,
                    $"{source}: pipeline step '{step.GetType().Name}' reads {string.Join(", ", missing)}, which nothing before it produces");
            }

            available.UnionWith(step.Produces);
        }
    }
}
