namespace Serverless.Inference;

/// <summary>What went wrong, in terms every transport can map to its own status codes.</summary>
public enum InferenceErrorKind
{
    BadRequest,
    NotFound,
    MethodNotAllowed,
    PayloadTooLarge,
    RequestTimeout,
    Unavailable,
    Cancelled,
    Internal,
}

/// <summary>An error whose message is safe and useful to show to the caller.</summary>
public sealed class InferenceException : Exception
{
    public InferenceException(InferenceErrorKind kind, string message, Exception? inner = null)
        : base(message, inner) => Kind = kind;

    public InferenceException()
    {
    }

    public InferenceException(string message)
        : base(message)
    {
    }

    public InferenceException(string message, Exception innerException)
        : base(message, innerException)
    {
    }

    public InferenceErrorKind Kind { get; } = InferenceErrorKind.Internal;

    public static InferenceException BadRequest(string message) => new(InferenceErrorKind.BadRequest, message);

    public static InferenceException NotFound(string message) => new(InferenceErrorKind.NotFound, message);
}
