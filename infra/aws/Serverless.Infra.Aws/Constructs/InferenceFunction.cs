using Amazon.CDK;
using Amazon.CDK.AWS.Lambda;
using Amazon.CDK.AWS.Logs;
using Constructs;
using Serverless.Functions.Aws;
using LambdaFunction = Amazon.CDK.AWS.Lambda.Function;

namespace Serverless.Infra.Aws.Constructs;

/// <summary>What differs between the two deployments of the one bootstrap: the HTTP function and the batch function.</summary>
/// <param name="Environment">Variables on top of the bucket and the warmup models every deployment gets.</param>
/// <param name="ProvisionedConcurrency">Above 0: a "live" alias with that many pre-initialised environments.</param>
internal sealed record InferenceFunctionRole(
    string Description,
    int MemorySizeMiB,
    int TimeoutSeconds,
    int ReservedConcurrency,
    int ProvisionedConcurrency,
    IReadOnlyDictionary<string, string> Environment);

/// <summary>The published Native AOT bootstrap on <c>provided.al2023</c>, with its log group, reserved concurrency and optional provisioned concurrency.</summary>
internal sealed class InferenceFunction : Construct
{
    public const string LiveAliasName = "live";

    public InferenceFunction(Construct scope, string id, InferenceStackSettings settings, InferenceFunctionRole role, string bucketName) : base(scope, id)
    {
        var logs = new LogGroup(this, "Logs", new LogGroupProps
        {
            Retention = settings.LogRetention,
            RemovalPolicy = RemovalPolicy.DESTROY,
        });

        var environment = new Dictionary<string, string> { [LambdaContract.BucketVariable] = bucketName };
        foreach (var (name, value) in role.Environment)
        {
            environment[name] = value;
        }

        if (!string.IsNullOrWhiteSpace(settings.WarmupModels))
        {
            environment[LambdaContract.WarmupModelsVariable] = settings.WarmupModels;
        }

        if (settings.PackagedModelDirectory is { } packagedModels)
        {
            environment[LambdaContract.ModelDirectoryVariable] = packagedModels;
        }

        Function = new LambdaFunction(this, "Function", new FunctionProps
        {
            Description = role.Description,
            Runtime = Runtime.PROVIDED_AL2023,
            Handler = LambdaContract.BootstrapName,
            Code = Code.FromAsset(settings.BootstrapPath),
            Architecture = settings.Architecture == InferenceStackSettings.Arm64 ? Architecture.ARM_64 : Architecture.X86_64,
            MemorySize = role.MemorySizeMiB,
            Timeout = Duration.Seconds(role.TimeoutSeconds),
            EphemeralStorageSize = Size.Mebibytes(settings.EphemeralStorageMiB),
            ReservedConcurrentExecutions = role.ReservedConcurrency,
            Environment = environment,
            LogGroup = logs,
            Tracing = Tracing.ACTIVE,
            Layers = settings.UsesModelsLayer ? [ModelsLayer.Of(this, settings.ModelsLayerPath!)] : null,
        });

        Invocable = role.ProvisionedConcurrency > 0
            ? new Alias(this, "Live", new AliasProps
            {
                AliasName = LiveAliasName,
                Version = Function.CurrentVersion,
                ProvisionedConcurrentExecutions = role.ProvisionedConcurrency,
            })
            : Function;
    }

    public LambdaFunction Function { get; }

    /// <summary>What events and the API call: the live alias when instances are provisioned, otherwise $LATEST.</summary>
    public IFunction Invocable { get; }
}
