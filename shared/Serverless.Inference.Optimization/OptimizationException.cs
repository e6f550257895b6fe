namespace Serverless.Inference.Optimization;

/// <summary>A model or an input the optimizer cannot use; the message says why and is shown to the user as is.</summary>
internal sealed class OptimizationException : Exception
{
    public OptimizationException(string message)
        : base(message)
    {
    }

    public OptimizationException(string message, Exception innerException)
        : base(message, innerException)
    {
    }
}
