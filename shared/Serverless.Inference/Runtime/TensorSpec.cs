namespace Serverless.Inference.Runtime;

/// <summary>A tensor's name, datatype and shape as a caller sees it; -1 marks a dynamic dimension.</summary>
/// <param name="MaxShape">
/// The largest value each dimension may take in one request (-1: no bound besides the batch limit), or null when none is
/// bounded. A request above it is refused before it runs: what a request may claim bounds the memory it can cost.
/// </param>
public sealed record TensorSpec(string Name, TensorDataType DataType, IReadOnlyList<long> Shape, IReadOnlyList<long>? MaxShape = null)
{
    public override string ToString() => $"{Name} {DataType.ToProtocolName()}[{string.Join(',', Shape)}]";
}
