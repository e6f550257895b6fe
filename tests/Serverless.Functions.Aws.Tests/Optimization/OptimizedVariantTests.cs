using Amazon.S3.Model;
using Serverless.Inference.Tests.Optimization.Support;

namespace Serverless.Functions.Aws.Tests.Optimization;

/// <summary>
/// A variant made by <c>infer optimize</c> (the real int8-dynamic rewrite), uploaded with its model folder to S3 (moto)
/// as a user would, answers through the function's HTTP path by its version and by its alias.
/// </summary>
public sealed class OptimizedVariantTests(MotoServer moto) : IClassFixture<MotoServer>
{
    [Fact]
    public async Task HttpInfer_VariantInS3_AnswersByVersionAndAliasCloseToTheSource()
    {
        var repository = await QuantizedVariant.MakeAsync();
        try
        {
            await using var function = await MotoFunction.CreateAsync(moto, uploadModel: false);
            foreach (var (key, path) in QuantizedVariant.Files(repository))
            {
                await function.S3.PutObjectAsync(new PutObjectRequest { BucketName = function.Bucket, Key = "models/" + key, FilePath = path });
            }

            var source = await InferAsync(function, "1");
            var byVersion = await InferAsync(function, "2");
            var byAlias = await InferAsync(function, "fast");

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

    private static async Task<(string Version, float[] Y)> InferAsync(MotoFunction function, string version)
    {
        var response = JsonDocument.Parse(await function.InvokeAsync(HttpApiEvents.Create("POST", $"/v2/models/{QuantizedVariant.Model}/versions/{version}/infer", QuantizedVariant.InferBody()))).RootElement;
        var body = response.GetProperty("body").GetString()!;
        Assert.True(response.GetProperty("statusCode").GetInt32() == 200, body);
        return QuantizedVariant.Read(body);
    }
}
