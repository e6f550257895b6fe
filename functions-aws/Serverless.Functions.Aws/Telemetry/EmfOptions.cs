namespace Serverless.Functions.Aws.Telemetry;

/// <summary>Where the EMF documents put their metrics.</summary>
/// <param name="Namespace">The CloudWatch namespace.</param>
/// <param name="FunctionName">Added to every dimension set, so the HTTP and batch functions' metrics stay apart; null outside Lambda.</param>
internal sealed record EmfOptions(string Namespace, string? FunctionName)
{
    public const string DefaultNamespace = "Serverless/Inference";

    /// <summary>Environment variable: the CloudWatch namespace of the function's metrics (default <see cref="DefaultNamespace"/>).</summary>
    public const string NamespaceVariable = "INFERENCE_METRICS_NAMESPACE";

    public const string FunctionNameDimension = "FunctionName";

    public static EmfOptions From(Func<string, string?> variable)
    {
        ArgumentNullException.ThrowIfNull(variable);
        return new EmfOptions(
            variable(NamespaceVariable) is { Length: > 0 } name ? name.Trim() : DefaultNamespace,
            variable("AWS_LAMBDA_FUNCTION_NAME") is { Length: > 0 } function ? function : null);
    }
}

/// <summary>The invocation a collection follows: written beside the metrics as searchable properties.</summary>
internal sealed record InvocationProperties(string RequestId, string? TraceId);
