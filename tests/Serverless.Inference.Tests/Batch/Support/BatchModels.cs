using Serverless.Inference.Hosting;
using Serverless.Inference.Repository;
using Serverless.Inference.Tests.Support;

namespace Serverless.Inference.Tests.Batch.Support;

/// <summary>
/// The models the batch tests score with, in a temp model repository, and one <see cref="ModelHost"/> over
/// them for a whole test class (each model loads once per class).
/// </summary>
public sealed class BatchModels : IDisposable
{
    /// <summary>The sample iris classifier: CSV columns from its manifest onto <c>Features</c> FP32 [N, 4].</summary>
    public const string Iris = "iris";

    /// <summary><see cref="OnnxTestModels.Identity"/> for BYTES: x [N] to y [N]; max_batch_size 16.</summary>
    public const string Strings = "strings";

    /// <summary><see cref="OnnxTestModels.AddFloat"/> (a, b float [N, 3] to sum, product), a manifest without columns; max_batch_size 8.</summary>
    public const string Add = "add";

    /// <summary><see cref="LookupModel"/>: value = table[index]; an index outside [-3, 2] fails at run time. max_batch_size 64.</summary>
    public const string Lookup = "lookup";

    /// <summary><see cref="OnnxTestModels.SlowModel"/> with <see cref="SlowIterations"/> steps: x float [N, 256]; max_batch_size 64.</summary>
    public const string Slow = "slow";

    /// <summary><see cref="OnnxTestModels.FixedBatchOne"/>: x float [1, 3], although the manifest says max_batch_size 8.</summary>
    public const string Fixed = "fixed";

    /// <summary>Identity over float [N, M]: a dynamic dimension besides the batch, so only OIP request lines can feed it.</summary>
    public const string Dynamic = "dynamic";

    public const int SlowWidth = 256;

    public const int SlowIterations = 20;

    public BatchModels()
    {
        Repository = AddAll(new TempModelRepository());
        Host = new ModelHost(new LocalFolderModelStore(Repository.Root), new ModelHostOptions { DefaultIntraOpThreads = 1 });
    }

    /// <summary>What <see cref="Lookup"/> gathers from.</summary>
    public static IReadOnlyList<float> LookupTable { get; } = [10f, 20f, 30f];

    public TempModelRepository Repository { get; }

    public ModelHost Host { get; }

    /// <summary>Writes every batch test model into a repository.</summary>
    public static TempModelRepository AddAll(TempModelRepository repository) =>
        repository
            .CopySample(Iris)
            .Add(Strings, OnnxTestModels.Identity(OnnxElementType.String), manifest: """{ "max_batch_size": 16 }""")
            .Add(Add, OnnxTestModels.AddFloat(), manifest: """{ "max_batch_size": 8 }""")
            .Add(Lookup, LookupModel(), manifest: """{ "max_batch_size": 64 }""")
            .Add(Slow, OnnxTestModels.SlowModel(SlowIterations), manifest: """{ "max_batch_size": 64 }""")
            .Add(Fixed, OnnxTestModels.FixedBatchOne(), manifest: """{ "max_batch_size": 8 }""")
            .Add(Dynamic, DynamicModel());

    /// <summary>
    /// <c>value = Gather(table, index)</c> with table = [10, 20, 30]: index int64 [N, 1] to value float [N, 1].
    /// Parsing accepts any integer, but ONNX Runtime refuses an index outside [-3, 2] when the model runs, so
    /// one bad row makes its whole micro-batch fail.
    /// </summary>
    public static byte[] LookupModel() =>
        new OnnxModelBuilder("lookup")
            .Input("index", OnnxElementType.Int64, "N", 1)
            .Output("value", OnnxElementType.Float, "N", 1)
            .Initializer<float>("table", [.. LookupTable], LookupTable.Count)
            .Node("Gather", ["table", "index"], ["value"], OnnxAttribute.Int("axis", 0))
            .ToBytes();

    /// <summary><c>y = Identity(x)</c> over float [N, M].</summary>
    public static byte[] DynamicModel() =>
        new OnnxModelBuilder("dynamic")
            .Input("x", OnnxElementType.Float, "N", "M")
            .Output("y", OnnxElementType.Float, "N", "M")
            .Node("Identity", ["x"], ["y"])
            .ToBytes();

    public Task<ModelLease> AcquireAsync(string model) => Host.AcquireAsync(model, null, CancellationToken.None);

    public void Dispose()
    {
        Host.Dispose();
        Repository.Dispose();
    }
}
