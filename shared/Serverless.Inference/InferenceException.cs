namespace Serverless.Inference;

/// <summary>An error whose message is safe and useful to show to the caller; <see cref="Detail"/> is for the log only.</summary>
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

    /// <summary>
    /// What the operator needs and a caller must not see (a storage URI, a local path, the runtime's own message):
    /// logged with an error id that the caller's message carries, never sent.
    /// </summary>
    public string? Detail { get; init; }

    public static InferenceException BadRequest(string message) => new(InferenceErrorKind.BadRequest, message);

    public static InferenceException NotFound(string message) => new(InferenceErrorKind.NotFound, message);
}
