namespace Serverless.Inference.Runtime;

/// <summary>A tensor's name, datatype and shape as a caller sees it; -1 marks a dynamic dimension.</summary>
public sealed record TensorSpec(string Name, TensorDataType DataType, IReadOnlyList<long> Shape)
{
    public override string ToString() => $"{Name} {DataType.ToProtocolName()}[{string.Join(',', Shape)}]";
}

public sealed record ModelSignature(IReadOnlyList<TensorSpec> Inputs, IReadOnlyList<TensorSpec> Outputs)
{
    public TensorSpec? FindInput(string name) => Inputs.FirstOrDefault(input => input.Name == name);

    public TensorSpec? FindOutput(string name) => Outputs.FirstOrDefault(output => output.Name == name);
}
