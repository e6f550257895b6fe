using System.Globalization;
using Amazon.CDK;
using Amazon.CDK.AWS.Lambda;
using Amazon.CDK.AWS.Logs;
using Amazon.CDK.AWS.S3;
using Constructs;
using Serverless.Functions.Aws;
using LambdaFunction = Amazon.CDK.AWS.Lambda.Function;

namespace Serverless.Infra.Aws.Constructs;

/// <summary>The published Native AOT bootstrap on <c>provided.al2023</c>, with its log group, reserved concurrency and optional provisioned concurrency.</summary>
internal sealed class InferenceFunction : Construct
{
    public const string LiveAliasName = "live";

    public InferenceFunction(Construct scope, string id, InferenceStackSettings settings, IBucket bucket) : base(scope, id)
    {
        var logs = new LogGroup(this, "Logs", new LogGroupProps
        {
            Retention = settings.LogRetention,
            RemovalPolicy = RemovalPolicy.DESTROY,
        });

        var environment = new Dictionary<string, string>
        {
            [LambdaContract.BucketVariable] = bucket.BucketName,
            [LambdaContract.SweepAfterMinutesVariable] = settings.SweepAfterMinutes.ToString(CultureInfo.InvariantCulture),
        };
        if (!string.IsNullOrWhiteSpace(settings.WarmupModels))
        {
            environment[LambdaContract.WarmupModelsVariable] = settings.WarmupModels;
        }

        Function = new LambdaFunction(this, "Function", new FunctionProps
        {
            Description = "ONNX inference: OIP over HTTP and batch scoring of incoming/ objects.",
            Runtime = Runtime.PROVIDED_AL2023,
            Handler = LambdaContract.BootstrapName,
            Code = Code.FromAsset(settings.BootstrapPath),
            Architecture = settings.Architecture == InferenceStackSettings.Arm64 ? Architecture.ARM_64 : Architecture.X86_64,
            MemorySize = settings.MemorySizeMiB,
            Timeout = Duration.Seconds(settings.TimeoutSeconds),
            EphemeralStorageSize = Size.Mebibytes(settings.EphemeralStorageMiB),
            ReservedConcurrentExecutions = settings.ReservedConcurrency,
            Environment = environment,
            LogGroup = logs,
            Tracing = Tracing.ACTIVE,
        });

        Invocable = settings.ProvisionedConcurrency > 0
            ? new Alias(this, "Live", new AliasProps
            {
                AliasName = LiveAliasName,
                Version = Function.CurrentVersion,
                ProvisionedConcurrentExecutions = settings.ProvisionedConcurrency,
            })
            : Function;
    }

    public LambdaFunction Function { get; }

    /// <summary>What events and the API call: the live alias when instances are provisioned, otherwise $LATEST.</summary>
    public IFunction Invocable { get; }
}
