using Amazon.S3;
using Amazon.S3.Model;
using Serverless.Functions.Aws.Storage;
using Serverless.Inference;
using Serverless.Inference.Hosting;
using Serverless.Inference.Repository;

namespace Serverless.Functions.Aws.Tests.Storage;

public sealed class S3ModelStoreTests(MotoServer moto) : IClassFixture<MotoServer>
{
    [Fact]
    public async Task OpenReadAsync_FileReplacedAfterItsStat_RefusedRatherThanCachingOtherBytes()
    {
        await using var function = await MotoFunction.CreateAsync(moto);
        var store = new S3ModelStore(function.S3, function.Bucket);
        var manifest = Serverless.Inference.Repository.ModelFilePath.Manifest("iris");
        await store.StatAsync(manifest, CancellationToken.None);

        await function.PutAsync("models/iris/model.json", "{ }");

        var failure = await Assert.ThrowsAsync<Serverless.Inference.InferenceException>(() => store.OpenReadAsync(manifest, CancellationToken.None));
        Assert.Equal(Serverless.Inference.InferenceErrorKind.Unavailable, failure.Kind);
        Assert.Contains("changed while it was being loaded", failure.Message, StringComparison.Ordinal);
        await store.StatAsync(manifest, CancellationToken.None);
        await using var fresh = await store.OpenReadAsync(manifest, CancellationToken.None);
        Assert.Equal("{ }", await new StreamReader(fresh).ReadToEndAsync());
    }

    [Fact]
    public async Task ListAndStat_ModelsPrefix_FindsModelsWithManifestAndVersionsWithOnnx()
    {
        await using var function = await MotoFunction.CreateAsync(moto);
        await function.PutAsync("models/nomanifest/1/model.onnx", "x");
        await function.PutAsync("models/iris/2/readme.txt", "no model.onnx here");
        await function.PutAsync("models/bad name/model.json", "{}");
        var store = new S3ModelStore(function.S3, function.Bucket);

        var models = await store.ListModelsAsync(CancellationToken.None);
        var versions = await store.ListVersionsAsync("iris", CancellationToken.None);
        var onnx = await store.StatAsync(ModelFilePath.Onnx("iris", "1"), CancellationToken.None);
        var missing = await store.StatAsync(ModelFilePath.Onnx("iris", "9"), CancellationToken.None);

        Assert.Equal(["iris"], models);
        Assert.Equal(["1"], versions);
        Assert.NotNull(onnx);
        var head = await function.S3.GetObjectMetadataAsync(function.Bucket, "models/iris/1/model.onnx");
        Assert.Equal((head.ETag.Trim('"'), new FileInfo(TestModels.IrisOnnx).Length), (onnx.Identity, onnx.Length));
        Assert.Null(missing);
        Assert.Equal($"s3://{function.Bucket}/models/", store.Description);
    }

    [Fact]
    public async Task ModelHost_ModelInS3_IsCopiedOnceIntoTheArtifactCache()
    {
        await using var function = await MotoFunction.CreateAsync(moto);
        var cache = Path.Combine(Path.GetTempPath(), "aws-tests-cache-" + Guid.NewGuid().ToString("N"));
        try
        {
            using (var host = new ModelHost(new S3ModelStore(function.S3, function.Bucket), new ModelHostOptions { CacheDirectory = cache }))
            using (var lease = await host.AcquireAsync("iris", null, CancellationToken.None))
            {
                Assert.Equal("1", lease.Version);
            }

            var cached = Directory.GetFiles(cache, "model.onnx", SearchOption.AllDirectories);
            Assert.Equal(await File.ReadAllBytesAsync(TestModels.IrisOnnx), await File.ReadAllBytesAsync(Assert.Single(cached)));
            var written = File.GetLastWriteTimeUtc(cached[0]);

            // A second process-wide host (a new sandbox reusing /tmp) finds the copy and fetches nothing.
            using (var host = new ModelHost(new S3ModelStore(function.S3, function.Bucket), new ModelHostOptions { CacheDirectory = cache }))
            using (await host.AcquireAsync("iris", null, CancellationToken.None))
            {
            }

            Assert.Equal(written, File.GetLastWriteTimeUtc(Assert.Single(Directory.GetFiles(cache, "model.onnx", SearchOption.AllDirectories))));
        }
        finally
        {
            Directory.Delete(cache, recursive: true);
        }
    }

    [Fact]
    public async Task ListModelsAsync_S3Unreachable_ThrowsUnavailable()
    {
        using var s3 = new AmazonS3Client(MotoServer.Credentials, new AmazonS3Config
        {
            ServiceURL = $"http://127.0.0.1:{FreePort.Next()}",
            ForcePathStyle = true,
            AuthenticationRegion = MotoServer.Region,
            MaxErrorRetry = 0,
        });
        var store = new S3ModelStore(s3, "nobucket");

        var error = await Assert.ThrowsAsync<InferenceException>(() => store.ListModelsAsync(CancellationToken.None));

        Assert.Equal(InferenceErrorKind.Unavailable, error.Kind);
        Assert.Equal("the model repository cannot be read", error.Message);
        Assert.StartsWith("s3://nobucket/models/: ", error.Detail, StringComparison.Ordinal);
    }

    [Fact]
    public async Task HttpInfer_ModelFromMotoS3_Answers200()
    {
        await using var function = await MotoFunction.CreateAsync(moto);

        var response = JsonDocument.Parse(await function.InvokeAsync(HttpApiEvents.Infer(TestModels.IrisInferBody))).RootElement;

        Assert.Equal(200, response.GetProperty("statusCode").GetInt32());
    }
}
