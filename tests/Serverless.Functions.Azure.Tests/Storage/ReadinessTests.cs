namespace Serverless.Functions.Azure.Tests.Storage;

/// <summary>A missing or empty models container: readiness and requests say why with 503, and the app keeps serving.</summary>
public sealed class ReadinessTests(Azurite azurite) : IClassFixture<Azurite>, IDisposable
{
    private readonly AzureApp _app = new(azurite.ConnectionString);

    public void Dispose() => _app.Dispose();

    [Fact]
    public async Task ModelsContainer_MissingThenEmptyThenFilled_503WithTheReasonUntilAModelArrives()
    {
        var missingReady = await _app.SendAsync("GET", "/v2/health/ready");
        var missingInfer = await _app.SendAsync("POST", "/v2/models/iris/infer", Iris.InferBody());
        var missingModel = await _app.SendAsync("GET", "/v2/models/iris");

        await azurite.CreateClient().GetBlobContainerClient(AzureContract.ModelsContainer).CreateAsync();
        var cachedReady = await _app.SendAsync("GET", "/v2/health/ready");
        _app.Time.Advance(TimeSpan.FromSeconds(5));
        var emptyReady = await _app.SendAsync("GET", "/v2/health/ready");
        var emptyInfer = await _app.SendAsync("POST", "/v2/models/iris/infer", Iris.InferBody());

        var live = await _app.SendAsync("GET", "/v2/health/live");
        await Iris.UploadAsync(azurite.CreateClient());
        _app.Time.Advance(TimeSpan.FromSeconds(5));
        var filledReady = await _app.SendAsync("GET", "/v2/health/ready");
        var filledInfer = await _app.SendAsync("POST", "/v2/models/iris/infer", Iris.InferBody());

        Assert.Equal((503, false), (missingReady.Status, missingReady.Json.GetProperty("ready").GetBoolean()));
        Assert.StartsWith("the model container does not exist (error id ", missingReady.Json.GetProperty("error").GetString(), StringComparison.Ordinal);
        Assert.DoesNotContain("127.0.0.1", missingReady.Body, StringComparison.Ordinal);
        Assert.Equal(503, missingInfer.Status);
        Assert.StartsWith("the model container does not exist (error id ", missingInfer.Json.GetProperty("error").GetString(), StringComparison.Ordinal);
        Assert.StartsWith("the model container does not exist (error id ", cachedReady.Json.GetProperty("error").GetString(), StringComparison.Ordinal);
        Assert.Equal(503, missingModel.Status);

        Assert.Equal(503, emptyReady.Status);
        Assert.Contains("holds no models", emptyReady.Json.GetProperty("error").GetString(), StringComparison.Ordinal);
        Assert.Equal(503, emptyInfer.Status);
        Assert.Contains("holds no models", emptyInfer.Json.GetProperty("error").GetString(), StringComparison.Ordinal);

        Assert.Equal(200, live.Status);
        Assert.Equal(200, filledReady.Status);
        Assert.Equal(200, filledInfer.Status);
    }

    [Fact]
    public async Task StorageConnection_NotConfigured_LiveStays200AndReadySaysWhichSettingIsMissing()
    {
        using var app = new AzureApp(azurite.ConnectionString, new Dictionary<string, string?> { [AzureContract.StorageConnection] = null });

        var live = await app.SendAsync("GET", "/v2/health/live");
        var ready = await app.SendAsync("GET", "/v2/health/ready");
        var infer = await app.SendAsync("POST", "/v2/models/iris/infer", Iris.InferBody());

        Assert.Equal(200, live.Status);
        Assert.Equal(503, ready.Status);
        Assert.Contains("InferenceStorage__serviceUri", ready.Json.GetProperty("error").GetString(), StringComparison.Ordinal);
        Assert.Equal(503, infer.Status);
        Assert.Contains("InferenceStorage__serviceUri", infer.Json.GetProperty("error").GetString(), StringComparison.Ordinal);
    }
}
