using System.Text.Json;
using Serverless.Functions.Azure.Hosting;
using Serverless.Functions.Azure.Storage;
using Microsoft.Extensions.DependencyInjection;
using Serverless.Inference.Repository;

namespace Serverless.Functions.Azure.Tests.Storage;

/// <summary>The models container as the model host sees it, in a real Azurite.</summary>
public sealed class BlobModelStoreTests(Azurite azurite) : IClassFixture<Azurite>, IAsyncLifetime, IDisposable
{
    private readonly AzureApp _app = new(azurite.ConnectionString);

    public async Task InitializeAsync() => await Iris.UploadAsync(azurite.CreateClient());

    public Task DisposeAsync() => Task.CompletedTask;

    public void Dispose() => _app.Dispose();

    [Fact]
    public async Task Infer_ModelInBlobStorage_AnswersWithTheLabels()
    {
        var reply = await _app.SendAsync("POST", "/v2/models/iris/infer", Iris.InferBody());

        Assert.Equal(200, reply.Status);
        var labels = reply.Json.GetProperty("outputs").EnumerateArray().Single(o => o.GetProperty("name").GetString() == "PredictedLabel.output");
        Assert.Equal(Iris.Labels, labels.GetProperty("data").EnumerateArray().Select(l => l.GetString()));
    }

    [Fact]
    public async Task ListModels_OnlyFoldersWithAValidNameAndAManifest()
    {
        var storage = azurite.CreateClient();
        await Blobs.PutAsync(storage, "models/notes/readme.txt", "not a model");
        await Blobs.PutAsync(storage, "models/bad name/model.json", "{}");
        await Blobs.PutAsync(storage, "models/iris/2/notes.txt", "no model.onnx in this version");
        await Blobs.PutAsync(storage, "models/iris/1/extra/model.onnx", "too deep to be a version");
        var store = ModelsStore();

        Assert.Equal(["iris"], await store.ListModelsAsync(CancellationToken.None));
        Assert.Equal(["1"], await store.ListVersionsAsync("iris", CancellationToken.None));
        Assert.Empty(await store.ListVersionsAsync("notes", CancellationToken.None));
    }

    [Fact]
    public async Task Stat_IdentityIsTheETagAndLengthTheBlobsLength()
    {
        var blob = azurite.CreateClient().GetBlobContainerClient(AzureContract.ModelsContainer).GetBlobClient("iris/1/model.onnx");
        var properties = (await blob.GetPropertiesAsync()).Value;

        var file = await ModelsStore().StatAsync(ModelFilePath.Onnx("iris", "1"), CancellationToken.None);

        Assert.Equal(new StoredFile(ModelFilePath.Onnx("iris", "1"), properties.ETag.ToString(), Iris.Onnx.Length), file);
        Assert.Null(await ModelsStore().StatAsync(ModelFilePath.Onnx("iris", "7"), CancellationToken.None));
    }

    [Fact]
    public async Task ReplacedModelBlob_AfterTheRefreshInterval_TheNewIdentityIsServedOnceItHasLoaded()
    {
        var storage = azurite.CreateClient();
        using var app = new AzureApp(azurite.ConnectionString);
        var before = await IdentityAsync(app);
        var cachedBefore = CachedModelFiles(app);

        await Blobs.PutAsync(storage, "models/iris/1/model.onnx", Iris.OnnxWithDocString("retrained"));
        var withinInterval = await IdentityAsync(app);
        app.Time.Advance(TimeSpan.FromSeconds(6));
        var infer = await app.SendAsync("POST", "/v2/models/iris/infer", Iris.InferBody());
        // That request is served at once and starts the refresh in the background; the new model follows when it has loaded.
        var after = await IdentityAsync(app);
        for (var attempt = 0; attempt < 400 && after == before; attempt++)
        {
            await Task.Delay(25);
            after = await IdentityAsync(app);
        }

        Assert.Equal(before, withinInterval);
        Assert.NotEqual(before, after);
        Assert.Equal(200, infer.Status);
        Assert.Equal(2, app.Host.SessionsCreated);
        Assert.Single(cachedBefore);
        Assert.Equal(2, CachedModelFiles(app).Count);
        Assert.Contains(CachedModelFiles(app), path => new FileInfo(path).Length == Iris.OnnxWithDocString("retrained").Length);
    }

    [Fact]
    public async Task UnchangedModel_AfterTheRefreshInterval_NotDownloadedNorLoadedAgain()
    {
        using var app = new AzureApp(azurite.ConnectionString);
        await Iris.UploadAsync(azurite.CreateClient());
        var first = await IdentityAsync(app);

        app.Time.Advance(TimeSpan.FromSeconds(6));
        var second = await IdentityAsync(app);

        Assert.Equal(first, second);
        Assert.Equal(1, app.Host.SessionsCreated);
        Assert.Single(CachedModelFiles(app));
    }

    [Fact]
    public async Task Warmup_ConfiguredModels_LoadedBeforeTheFirstRequestAndFailuresOnlyLogged()
    {
        using var app = new AzureApp(azurite.ConnectionString, new Dictionary<string, string?> { [AzureContract.WarmupModelsSetting.Replace("__", ":", StringComparison.Ordinal)] = "nosuch, iris" });
        var warmup = (ModelWarmup)app.Services.GetServices<Microsoft.Extensions.Hosting.IHostedService>().Single();

        await warmup.StartAsync(CancellationToken.None);
        await warmup.Completion.WaitAsync(TimeSpan.FromSeconds(60));

        Assert.True(warmup.Completion.IsCompletedSuccessfully);
        Assert.Equal(1, app.Host.SessionsCreated);
        Assert.Equal(200, (await app.SendAsync("GET", "/v2/models/iris/ready")).Status);
        Assert.Equal(1, app.Host.SessionsCreated);
        await warmup.StopAsync(CancellationToken.None);
    }

    [Fact]
    public async Task UnknownModel_WithModelsPresent_404NotUnavailable()
    {
        var reply = await _app.SendAsync("POST", "/v2/models/nosuch/infer", Iris.InferBody());

        Assert.Equal(404, reply.Status);
        Assert.Equal("unknown model 'nosuch'", reply.Json.GetProperty("error").GetString());
    }

    [Fact]
    public async Task OpenReadAsync_ModelReplacedAfterStat_LoadFailsInsteadOfCachingNewBytesUnderTheOldETag()
    {
        var storage = azurite.CreateClient();
        // Its own container, so the other tests' listings never see this model.
        await Blobs.PutAsync(storage, "models-swap/swap/model.json", Iris.Manifest);
        await Blobs.PutAsync(storage, "models-swap/swap/1/model.onnx", Iris.Onnx);
        var store = new BlobModelStore(storage.GetBlobContainerClient("models-swap"));
        await store.StatAsync(ModelFilePath.Onnx("swap", "1"), CancellationToken.None);

        await Blobs.PutAsync(storage, "models-swap/swap/1/model.onnx", Iris.OnnxWithDocString("newer"));

        var error = await Assert.ThrowsAsync<Serverless.Inference.InferenceException>(() => store.OpenReadAsync(ModelFilePath.Onnx("swap", "1"), CancellationToken.None));
        Assert.Equal(Serverless.Inference.InferenceErrorKind.Unavailable, error.Kind);
        Assert.Contains("changed while it was being loaded", error.Message, StringComparison.Ordinal);
    }

    private BlobModelStore ModelsStore() => new(azurite.CreateClient().GetBlobContainerClient(AzureContract.ModelsContainer));

    private static async Task<string> IdentityAsync(AzureApp app)
    {
        var reply = await app.SendAsync("GET", "/v2/models/iris");
        Assert.Equal(200, reply.Status);
        return reply.Json.GetProperty("parameters").GetProperty("identity").GetString()!;
    }

    private static List<string> CachedModelFiles(AzureApp app) =>
        [.. Directory.EnumerateFiles(app.CacheDirectory, ModelFilePath.ModelFileName, SearchOption.AllDirectories)];
}
