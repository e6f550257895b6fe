namespace Serverless.Inference.Optimization.Float16;

/// <summary>What ONNX Runtime said when asked to load a converted graph.</summary>
/// <param name="Error">Its error message, or null when the session was created.</param>
/// <param name="Operator">The operator type the error names, when it names one.</param>
internal sealed record KernelCheckResult(string? Error, string? Operator)
{
    public bool Loaded => Error is null;
}
