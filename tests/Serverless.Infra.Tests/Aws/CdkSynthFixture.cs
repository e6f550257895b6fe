using System.Text.Json.Nodes;
using Amazon.CDK;
using Amazon.CDK.Assertions;
using Serverless.Infra.Aws;
using Serverless.Infra.Tests.Support;

namespace Serverless.Infra.Tests.Aws;

/// <summary>
/// Synthesizes the stack in-process once per test run (jsii starts node; ~15 s): the defaults, the defaults with
/// streaming (a stream model set), and a variant
/// with JWT authorisation, provisioned and reserved concurrency, other batch-function and queue settings, an hourly
/// sweep, warmup models and a models layer. The bootstrap and the layer's model are placeholder files:
/// synth never needs the real Native AOT publish.
/// </summary>
public sealed class CdkSynthFixture : IDisposable
{
    private readonly TempFolder _workspace = new("cdk");

    public CdkSynthFixture()
    {
        System.Environment.SetEnvironmentVariable("JSII_SILENCE_WARNING_END_OF_LIFE_NODE_VERSION", "20");
        System.Environment.SetEnvironmentVariable("JSII_SILENCE_WARNING_DEPRECATED_NODE_VERSION", "1");
        BootstrapFolder = CreatePlaceholderBootstrap(_workspace.Combine("publish"));
        ModelsLayerFolder = CreatePlaceholderModelsLayer(_workspace.Combine("models-layer"));

        var app = new App(new AppProps { Outdir = _workspace.Combine("cdk.out") });
        var defaultStack = new InferenceStack(app, "Defaults", DefaultSettings);
        var variantStack = new InferenceStack(app, "Variant", VariantSettings);
        var streamingStack = new InferenceStack(app, "Streaming", StreamingSettings);
        var assembly = app.Synth();

        Defaults = Template.FromStack(defaultStack);
        Variant = Template.FromStack(variantStack);
        DefaultsPath = assembly.GetStackByName(defaultStack.StackName).TemplateFullPath;
        VariantPath = assembly.GetStackByName(variantStack.StackName).TemplateFullPath;
        DefaultsJson = JsonNode.Parse(File.ReadAllText(DefaultsPath))!;
        VariantJson = JsonNode.Parse(File.ReadAllText(VariantPath))!;
        StreamingPath = assembly.GetStackByName(streamingStack.StackName).TemplateFullPath;
        StreamingJson = JsonNode.Parse(File.ReadAllText(StreamingPath))!;
    }

    internal string BootstrapFolder { get; }

    /// <summary>A layer folder with models/ at its root, as package.sh --layer zips it (the Variant stack publishes it).</summary>
    internal string ModelsLayerFolder { get; }

    internal InferenceStackSettings DefaultSettings => new() { BootstrapPath = BootstrapFolder };

    internal InferenceStackSettings VariantSettings => new()
    {
        BootstrapPath = BootstrapFolder,
        Architecture = InferenceStackSettings.Arm64,
        MemorySizeMiB = 3008,
        TimeoutSeconds = 20,
        BatchMemorySizeMiB = 5120,
        BatchTimeoutSeconds = 600,
        EphemeralStorageMiB = 4096,
        ProvisionedConcurrency = 2,
        ReservedConcurrency = 20,
        BatchReservedConcurrency = 12,
        SqsMaxConcurrency = 4,
        ShardMaxConcurrency = 6,
        ShardBatchSize = 2,
        ShardMaxReceiveCount = 7,
        SweepIntervalMinutes = 60,
        SweepAfterMinutes = 30,
        LogRetentionDays = 90,
        BatchSize = 5,
        MaxReceiveCount = 4,
        WarmupModels = "iris,minilm",
        ModelsLayerPath = ModelsLayerFolder,
        RowsPerShard = 25_000,
        ApiRateLimit = 7,
        ApiBurstLimit = 9,
        JwtIssuer = "https://login.example.com/tenant/v2.0",
        JwtAudience = ["api://inference"],
    };

    /// <summary>The defaults with a stream model: the Kinesis stream, the stream function and its queues, all else as the defaults.</summary>
    internal InferenceStackSettings StreamingSettings => new() { BootstrapPath = BootstrapFolder, StreamModel = "iris" };

    internal Template Defaults { get; }

    internal Template Variant { get; }

    internal string DefaultsPath { get; }

    internal string VariantPath { get; }

    internal JsonNode DefaultsJson { get; }

    internal JsonNode VariantJson { get; }

    internal string StreamingPath { get; }

    internal JsonNode StreamingJson { get; }

    public void Dispose() => _workspace.Dispose();

    internal static string CreatePlaceholderModelsLayer(string folder)
    {
        Directory.CreateDirectory(Path.Combine(folder, "models", "iris", "1"));
        File.WriteAllText(Path.Combine(folder, "models", "iris", "model.json"), "{}");
        File.WriteAllText(Path.Combine(folder, "models", "iris", "1", "model.onnx"), "placeholder");
        return folder;
    }

    internal static string CreatePlaceholderBootstrap(string folder)
    {
        Directory.CreateDirectory(folder);
        File.WriteAllText(Path.Combine(folder, "bootstrap"), "#!/bin/sh\necho 'placeholder: publish functions-aws for a real bootstrap' >&2\nexit 1\n");
        return folder;
    }
}

[CollectionDefinition(Name)]
public sealed class CdkCollection : ICollectionFixture<CdkSynthFixture>
{
    public const string Name = "CDK synth";
}
