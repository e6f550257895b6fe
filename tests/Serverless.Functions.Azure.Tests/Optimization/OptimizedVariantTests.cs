using Serverless.Inference.Tests.Optimization.Support;

namespace Serverless.Functions.Azure.Tests.Optimization;

/// <summary>
/// A variant made by <c>infer optimize</c> (the real int8-dynamic rewrite), uploaded with its model folder to the
/// models container (Azurite) as a user would, answers through the HTTP function by its version and by its alias.
/// </summary>
public sealed class OptimizedVariantTests(Azurite azurite) : IClassFixture<Azurite>, IDisposable
{
    private readonly AzureApp _app = new(azurite.ConnectionString);

    public void Dispose() => _app.Dispose();

    [Fact]
    public async Task Infer_VariantInBlobStorage_AnswersByVersionAndAliasCloseToTheSource()
    {
        var repository = await QuantizedVariant.MakeAsync();
        try
        {
            foreach (var (key, path) in QuantizedVariant.Files(repository))
            {
                await Blobs.PutAsync(azurite.CreateClient(), "models/" + key, await File.ReadAllBytesAsync(path));
            }

            var source = await InferAsync("1");
            var byVersion = await InferAsync("2");
            var byAlias = await InferAsync("fast");

            Assert.Equal(("1", "2", "2"), (source.Version, byVersion.Version, byAlias.Version));
            Assert.Equal(byVersion.Y, byAlias.Y);
            var expected = QuantizedVariant.Expected();
            Assert.All(source.Y.Zip(expected), pair => Assert.Equal(pair.Second, pair.First, 4));
            // int8 weights and activations: close to the exact products, though not equal to them.
            Assert.All(byVersion.Y.Zip(expected), pair => Assert.InRange(pair.First, pair.Second - 0.1f, pair.Second + 0.1f));
        }
        finally
        {
            Directory.Delete(repository, recursive: true);
        }
    }

    private async Task<(string Version, float[] Y)> InferAsync(string version)
    {
        var reply = await _app.SendAsync("POST", $"/v2/models/{QuantizedVariant.Model}/versions/{version}/infer", QuantizedVariant.InferBody());
        Assert.True(reply.Status == 200, reply.Body);
        return QuantizedVariant.Read(reply.Body);
    }
}
