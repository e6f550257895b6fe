namespace Serverless.Functions.Aws;

/// <summary>
/// The names this function reads and the CDK stack in infra/aws provisions. Infra tests compare the
/// synthesized template against these values, so a rename on one side fails the build instead of a deployment.
/// </summary>
public static class LambdaContract
{
    /// <summary>Environment variable: the bucket holding <c>models/</c>, <c>incoming/</c>, <c>outgoing/</c> and <c>failed/</c>.</summary>
    public const string BucketVariable = "INFERENCE_BUCKET";

    /// <summary>Environment variable: comma-separated model names loaded during initialisation.</summary>
    public const string WarmupModelsVariable = "INFERENCE_WARMUP_MODELS";

    public const string ModelsPrefix = "models/";

    public const string IncomingPrefix = "incoming/";

    public const string OutgoingPrefix = "outgoing/";

    public const string FailedPrefix = "failed/";

    /// <summary>Environment variable: minutes a file must have sat under <c>incoming/</c> before the scheduled sweep takes it up.</summary>
    public const string SweepAfterMinutesVariable = "INFERENCE_SWEEP_AFTER_MINUTES";

    /// <summary>The executable name a <c>provided.al2023</c> custom runtime starts.</summary>
    public const string BootstrapName = "bootstrap";
}
