using Azure;
using Serverless.Inference;

namespace Serverless.Functions.Azure.Storage;

internal static class BlobErrors
{
    public static bool IsBlobMissing(RequestFailedException e) => e.Status == 404 && e.ErrorCode != "ContainerNotFound";

    public static bool IsContainerMissing(RequestFailedException e) => e.Status == 404 && e.ErrorCode == "ContainerNotFound";

    /// <summary>The store could not answer: unreachable, forbidden, throttled. Callers see 503 with the reason.</summary>
    public static InferenceException Unavailable(string what, RequestFailedException e) =>
        new(InferenceErrorKind.Unavailable, $"{what}: {(e.Status == 0 ? e.Message : $"{e.Status} {e.ErrorCode}")}", e);
}
