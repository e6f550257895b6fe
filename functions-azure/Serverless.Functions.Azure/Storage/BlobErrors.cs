using Azure;
using Serverless.Inference;

namespace Serverless.Functions.Azure.Storage;

internal static class BlobErrors
{
    public static bool IsBlobMissing(RequestFailedException e) => e.Status == 404 && e.ErrorCode != "ContainerNotFound";

    public static bool IsContainerMissing(RequestFailedException e) => e.Status == 404 && e.ErrorCode == "ContainerNotFound";

    /// <summary>
    /// The store could not answer: unreachable, forbidden, throttled. Callers see 503 with the status; the address
    /// (and a transport's own message, which may name it) goes to the log only.
    /// </summary>
    public static InferenceException Unavailable(string what, string where, RequestFailedException e) =>
        new(InferenceErrorKind.Unavailable, e.Status == 0 ? $"{what}: the storage service cannot be reached" : $"{what}: {e.Status} {e.ErrorCode}", e)
        {
            Detail = $"{where}: {e.Message}",
        };
}
