namespace Serverless.Inference.Tests.Support;

/// <summary>The test models every protocol test class shares, by Open Inference Protocol datatype.</summary>
public static class ProtocolModels
{
    /// <summary>The 13 OIP datatypes and the ONNX element type behind each.</summary>
    public static readonly IReadOnlyDictionary<string, OnnxElementType> DataTypes = new Dictionary<string, OnnxElementType>
    {
        ["BOOL"] = OnnxElementType.Bool,
        ["INT8"] = OnnxElementType.Int8,
        ["INT16"] = OnnxElementType.Int16,
        ["INT32"] = OnnxElementType.Int32,
        ["INT64"] = OnnxElementType.Int64,
        ["UINT8"] = OnnxElementType.UInt8,
        ["UINT16"] = OnnxElementType.UInt16,
        ["UINT32"] = OnnxElementType.UInt32,
        ["UINT64"] = OnnxElementType.UInt64,
        ["FP16"] = OnnxElementType.Float16,
        ["FP32"] = OnnxElementType.Float,
        ["FP64"] = OnnxElementType.Double,
        ["BYTES"] = OnnxElementType.String,
    };

    /// <summary><see cref="OnnxTestModels.AddFloat"/>: a, b float [N, 3] to sum and product.</summary>
    public const string AddFloat = "addfloat";

    /// <summary><see cref="OnnxTestModels.FixedBatchOne"/>: x float [1, 3].</summary>
    public const string Fixed = "fixed";

    /// <summary>A float <see cref="OnnxTestModels.Doubler"/> whose manifest says max_batch_size 2.</summary>
    public const string BatchOfTwo = "batch2";

    /// <summary>A model whose model.onnx is garbage: it never loads.</summary>
    public const string Broken = "broken";

    /// <summary>The sample iris classifier.</summary>
    public const string Iris = "iris";

    /// <summary><see cref="OnnxTestModels.Identity"/> for an OIP datatype: x [N] to y [N].</summary>
    public static string Identity(string dataType) => "identity-" + dataType.ToLowerInvariant();

    /// <summary><see cref="OnnxTestModels.Doubler"/> for a numeric OIP datatype: x [N, 2] to y = x + x.</summary>
    public static string Doubler(string dataType) => "doubler-" + dataType.ToLowerInvariant();

    /// <summary>Writes every shared model into a repository.</summary>
    public static TempModelRepository AddAll(TempModelRepository repository)
    {
        foreach (var (name, type) in DataTypes)
        {
            repository.Add(Identity(name), OnnxTestModels.Identity(type));
            if (OnnxTestModels.DoublerTypes.Contains(type))
            {
                repository.Add(Doubler(name), OnnxTestModels.Doubler(type));
            }
        }

        return repository
            .Add(AddFloat, OnnxTestModels.AddFloat())
            .Add(Fixed, OnnxTestModels.FixedBatchOne())
            .Add(BatchOfTwo, OnnxTestModels.Doubler(OnnxElementType.Float), manifest: """{ "max_batch_size": 2 }""")
            .Add(Broken, [0x4e, 0x6f, 0x74, 0x20, 0x4f, 0x4e, 0x4e, 0x58, 0xff, 0x00, 0x13, 0x37])
            .CopySample(Iris);
    }
}

/// <summary>One real local host per test class over a repository of <see cref="ProtocolModels"/>.</summary>
public sealed class OipServerFixture : IAsyncLifetime
{
    private readonly TempModelRepository _repository = ProtocolModels.AddAll(new TempModelRepository());
    private OipTestServer? _server;

    public OipTestServer Server => _server ?? throw new InvalidOperationException("the server has not started");

    public OipClient Client => Server.Client;

    public string Repository => _repository.Root;

    public async Task InitializeAsync() => _server = await OipTestServer.StartAsync(_repository.Root);

    public async Task DisposeAsync()
    {
        if (_server is not null)
        {
            await _server.DisposeAsync();
        }

        _repository.Dispose();
    }
}
