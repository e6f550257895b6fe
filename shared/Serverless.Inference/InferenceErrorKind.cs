namespace Serverless.Inference;

/// <summary>What went wrong, in terms every transport can map to its own status codes.</summary>
public enum InferenceErrorKind
{
    BadRequest,
    NotFound,
    MethodNotAllowed,
    PayloadTooLarge,
    RequestTimeout,
    TooManyRequests,
    Unavailable,
    Cancelled,
    Internal,
    UnsupportedMediaType,
}
