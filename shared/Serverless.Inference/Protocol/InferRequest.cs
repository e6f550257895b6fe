using Serverless.Inference.Runtime;

namespace Serverless.Inference.Protocol;

/// <summary>A parsed Open Inference Protocol inference request. Owns its input buffers.</summary>
internal sealed class InferRequest : IDisposable
{
    public string? Id { get; init; }

    public required IReadOnlyList<InputTensor> Inputs { get; init; }

    /// <summary>The outputs asked for; empty means all of them, with <see cref="BinaryOutputs"/> deciding the encoding.</summary>
    public IReadOnlyList<RequestedOutput> Outputs { get; init; } = [];

    /// <summary>The request-level <c>binary_data_output</c> parameter.</summary>
    public bool BinaryOutputs { get; init; }

    /// <summary>Request parameters other than the binary extension's, passed through to the response.</summary>
    public IReadOnlyList<Parameter> Parameters { get; init; } = [];

    public void Dispose()
    {
        foreach (var input in Inputs)
        {
            input.Dispose();
        }
    }
}

/// <param name="Binary">The output's own <c>binary_data</c> parameter, or null to follow the request's.</param>
internal sealed record RequestedOutput(string Name, bool? Binary);

/// <summary>An OIP parameter: its value is a string, a number or a boolean, kept as the JSON text it came as.</summary>
internal sealed record Parameter(string Name, byte[] RawJsonValue);
