using System.Text;
using Serverless.Inference.Hosting;
using Serverless.Inference.Runtime;
using Serverless.Inference.Tests.Support;

namespace Serverless.Inference.Tests.Pipelines.Text;

/// <summary>
/// The sample MiniLM model (all-MiniLM-L6-v2 with its bert_tokenize / mean_pool / l2_normalize pipeline) in a
/// temp repository of its own, served by one real local host that every MiniLM test class shares: the model
/// (87 MB) loads once.
/// </summary>
public sealed class MiniLmFixture : IAsyncLifetime
{
    public const string Model = "minilm";

    public const int Dimensions = 384;

    private readonly TempModelRepository _repository = new TempModelRepository().CopySample(Model);
    private OipTestServer? _server;

    public OipTestServer Server => _server ?? throw new InvalidOperationException("the server has not started");

    public OipClient Client => Server.Client;

    public ModelHost Host => Server.Host;

    public async Task InitializeAsync() => _server = await OipTestServer.StartAsync(_repository.Root);

    public async Task DisposeAsync()
    {
        if (_server is not null)
        {
            await _server.DisposeAsync();
        }

        _repository.Dispose();
    }

    /// <summary>Embeds texts through the model's endpoint (the pipeline), one vector per text.</summary>
    public async Task<float[][]> EmbedAsync(params string[] texts)
    {
        using var lease = await Host.AcquireAsync(Model, null, CancellationToken.None);
        using var input = InputTensor.CreateBytes("text", [texts.Length], [.. texts.Select(Encoding.UTF8.GetBytes)]);
        using var outputs = lease.Endpoint.Run([input], null, CancellationToken.None);
        var embedding = Assert.Single(outputs.Tensors);
        Assert.Equal("embedding", embedding.Name);
        Assert.Equal([texts.Length, (long)Dimensions], embedding.Shape);
        return Vectors(embedding.AsSpan<float>(), texts.Length);
    }

    public static float[][] Vectors(ReadOnlySpan<float> values, int rows)
    {
        var vectors = new float[rows][];
        var width = values.Length / rows;
        for (var row = 0; row < rows; row++)
        {
            vectors[row] = values.Slice(row * width, width).ToArray();
        }

        return vectors;
    }

    /// <summary>Cosine similarity, in double.</summary>
    public static double Cosine(float[] a, float[] b) =>
        a.Zip(b, (x, y) => (double)x * y).Sum() / (Norm(a) * Norm(b));

    public static double Norm(float[] vector) => Math.Sqrt(vector.Sum(x => (double)x * x));

    public static void AssertClose(float[] expected, float[] actual, double tolerance = 1e-5)
    {
        Assert.Equal(expected.Length, actual.Length);
        var worst = expected.Zip(actual, (e, a) => Math.Abs(e - a)).Max();
        Assert.True(worst <= tolerance, $"vectors differ by up to {worst:E2}, more than {tolerance:E0}");
    }
}

[CollectionDefinition(Name)]
public sealed class MiniLmCollection : ICollectionFixture<MiniLmFixture>
{
    public const string Name = "minilm";
}
