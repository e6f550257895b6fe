using Serverless.Functions.Aws.Storage;
using Serverless.Inference.Hosting;
using Serverless.Inference.Repository;

namespace Serverless.Functions.Aws.Tests.Storage;

/// <summary>
/// Models packaged with the function (INFERENCE_MODEL_DIR beside INFERENCE_BUCKET) in front of the bucket in moto: a
/// packaged model is served wholly from the package, read in place; every other model from the bucket.
/// </summary>
public sealed class PackagedModelsTests(MotoServer moto) : IClassFixture<MotoServer>, IDisposable
{
    private readonly DirectoryInfo _packaged = Directory.CreateTempSubdirectory("aws-packaged-models-");
    private readonly DirectoryInfo _cache = Directory.CreateTempSubdirectory("aws-packaged-cache-");

    public void Dispose()
    {
        _packaged.Delete(recursive: true);
        _cache.Delete(recursive: true);
    }

    [Fact]
    public async Task Store_ModelInBothPlaces_PackagedOneWinsWhollyAndTheOthersComeFromTheBucket()
    {
        await using var function = await MotoFunction.CreateAsync(moto);
        // The bucket has iris version 1 (MotoFunction) and remote-iris; the package has iris version 7 and flowers.
        await function.S3.PutObjectAsync(new() { BucketName = function.Bucket, Key = "models/remote-iris/model.json", FilePath = TestModels.IrisManifest });
        await function.S3.PutObjectAsync(new() { BucketName = function.Bucket, Key = "models/remote-iris/1/model.onnx", FilePath = TestModels.IrisOnnx });
        Package("iris", "7");
        Package("flowers", "1");
        var store = new PackagedFirstModelStore(_packaged.FullName, new S3ModelStore(function.S3, function.Bucket));

        var models = await store.ListModelsAsync(CancellationToken.None);
        var irisVersions = await store.ListVersionsAsync("iris", CancellationToken.None);
        var remoteVersions = await store.ListVersionsAsync("remote-iris", CancellationToken.None);
        var bucketOnlyVersion = await store.StatAsync(ModelFilePath.Onnx("iris", "1"), CancellationToken.None);
        var remote = await store.StatAsync(ModelFilePath.Onnx("remote-iris", "1"), CancellationToken.None);

        Assert.Equal(["flowers", "iris", "remote-iris"], models);
        Assert.Equal(["7"], irisVersions);
        Assert.Equal(["1"], remoteVersions);
        Assert.Null(bucketOnlyVersion);
        var head = await function.S3.GetObjectMetadataAsync(function.Bucket, "models/remote-iris/1/model.onnx");
        Assert.Equal(head.ETag.Trim('"'), remote!.Identity);
        Assert.Equal($"{_packaged.FullName} (packaged models), then s3://{function.Bucket}/models/", store.Description);
    }

    [Fact]
    public async Task ModelHost_PackagedModelReadInPlace_BucketModelCopiedIntoTheCache()
    {
        await using var function = await MotoFunction.CreateAsync(moto);
        Package("flowers", "1");
        var store = new PackagedFirstModelStore(_packaged.FullName, new S3ModelStore(function.S3, function.Bucket));
        using var host = new ModelHost(store, new ModelHostOptions { CacheDirectory = _cache.FullName });

        using (var packaged = await host.AcquireAsync("flowers", null, CancellationToken.None))
        {
            Assert.Equal("1", packaged.Version);
        }

        Assert.Empty(Directory.GetFiles(_cache.FullName, "model.onnx", SearchOption.AllDirectories));
        using (var remote = await host.AcquireAsync("iris", null, CancellationToken.None))
        {
            Assert.Equal("1", remote.Version);
        }

        Assert.Single(Directory.GetFiles(_cache.FullName, "model.onnx", SearchOption.AllDirectories));
    }

    [Fact]
    public async Task Bootstrap_PackagedAndBucketModels_BothAnswerThroughTheRuntimeApi()
    {
        await using var function = await MotoFunction.CreateAsync(moto);
        Package("flowers", "1");
        await using var api = await RuntimeApiServer.StartAsync();
        var environment = new Dictionary<string, string>(moto.Environment)
        {
            [LambdaContract.BucketVariable] = function.Bucket,
            [FunctionSettings.ModelDirectoryVariable] = _packaged.FullName,
        };
        await using var bootstrap = BootstrapProcess.Start(api.Endpoint, environment);

        var packaged = await api.InvokeAsync(HttpApiEvents.Create("POST", "/v2/models/flowers/infer", TestModels.IrisInferBody)).WaitAsync(TimeSpan.FromSeconds(60));
        var remote = await api.InvokeAsync(HttpApiEvents.Infer(TestModels.IrisInferBody)).WaitAsync(TimeSpan.FromSeconds(60));

        Assert.Equal(200, packaged.Json.GetProperty("statusCode").GetInt32());
        Assert.Equal(200, remote.Json.GetProperty("statusCode").GetInt32());
    }

    [Fact]
    public async Task Bootstrap_PackagedFolderMissing_PostsInitErrorNamingTheVariable()
    {
        await using var api = await RuntimeApiServer.StartAsync();
        var environment = new Dictionary<string, string>(moto.Environment)
        {
            [LambdaContract.BucketVariable] = "any-bucket",
            [FunctionSettings.ModelDirectoryVariable] = Path.Combine(_packaged.FullName, "absent"),
            [LambdaContract.WarmupModelsVariable] = "iris",
        };
        await using var bootstrap = BootstrapProcess.Start(api.Endpoint, environment);

        var initError = await api.InitError.WaitAsync(TimeSpan.FromSeconds(60));

        Assert.Equal(1, await bootstrap.WaitForExitAsync(TimeSpan.FromSeconds(60)));
        Assert.Contains("INFERENCE_MODEL_DIR names the folder of models packaged with the function, which does not exist", initError.Json.GetProperty("errorMessage").GetString(), StringComparison.Ordinal);
    }

    private void Package(string model, string version)
    {
        Directory.CreateDirectory(Path.Combine(_packaged.FullName, model, version));
        File.Copy(TestModels.IrisManifest, Path.Combine(_packaged.FullName, model, "model.json"));
        File.Copy(TestModels.IrisOnnx, Path.Combine(_packaged.FullName, model, version, "model.onnx"));
    }
}
