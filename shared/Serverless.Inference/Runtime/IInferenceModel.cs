namespace Serverless.Inference.Runtime;

/// <summary>What a caller talks to: a bare ONNX model, or one wrapped in its manifest's pipeline.</summary>
internal interface IInferenceModel
{
    /// <summary>What callers send and get back.</summary>
    ModelSignature Signature { get; }

    /// <summary>Runs the model on validated inputs; outputs default to every exposed output, in signature order.</summary>
    ModelOutputs Run(IReadOnlyList<InputTensor> inputs, IReadOnlyList<string>? outputNames, CancellationToken cancellationToken);

    /// <summary>The working memory a run on these inputs is estimated to need at most (activations and outputs).</summary>
    long EstimateWorkingBytes(IReadOnlyList<InputTensor> inputs);
}
