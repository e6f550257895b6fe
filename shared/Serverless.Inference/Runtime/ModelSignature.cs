namespace Serverless.Inference.Runtime;

public sealed record ModelSignature(IReadOnlyList<TensorSpec> Inputs, IReadOnlyList<TensorSpec> Outputs)
{
    internal TensorSpec? FindInput(string name) => Inputs.FirstOrDefault(input => input.Name == name);

    internal TensorSpec? FindOutput(string name) => Outputs.FirstOrDefault(output => output.Name == name);
}
