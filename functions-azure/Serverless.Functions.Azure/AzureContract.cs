namespace Serverless.Functions.Azure;

/// <summary>
/// The names this app reads and the templates in infra/azure provision. Infra tests compare the compiled
/// Bicep against these values, so a rename on one side fails the build instead of a deployment.
/// </summary>
public static class AzureContract
{
    /// <summary>The named connection for models and batch files: <c>InferenceStorage__serviceUri</c> + managed identity in Azure, <c>UseDevelopmentStorage=true</c> locally.</summary>
    public const string StorageConnection = "InferenceStorage";

    public const string ModelsContainer = "models";

    public const string IncomingContainer = "incoming";

    public const string OutgoingContainer = "outgoing";

    public const string FailedContainer = "failed";

    /// <summary>The blob-triggered batch function; the Event Grid subscription delivers to it.</summary>
    public const string ScoreBlobFunction = "ScoreBlob";

    /// <summary>host.json's <c>extensions.http.routePrefix</c>: the OIP routes live at <c>/v2/...</c>.</summary>
    public const string RoutePrefix = "v2";

    /// <summary>Comma-separated model names loaded at start-up, before the first request.</summary>
    public const string WarmupModelsSetting = "Inference__WarmupModels";
}
