using Azure.Storage.Blobs;
using Microsoft.AspNetCore.Http;
using Microsoft.Extensions.Configuration;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Logging;
using Microsoft.Extensions.Time.Testing;
using Serverless.Functions.Azure.Batch;
using Serverless.Functions.Azure.Hosting;
using Serverless.Functions.Azure.Http;
using Serverless.Inference.Hosting;

namespace Serverless.Functions.Azure.Tests.Support;

/// <summary>
/// The app's services as Program.cs adds them, over an Azurite account, with a fake clock; function classes are
/// created the way the worker creates them (constructor injection from the container).
/// </summary>
public sealed class AzureApp : IDisposable
{
    private readonly ServiceProvider _services;
    private readonly string _cacheDirectory = Directory.CreateTempSubdirectory("azure-app-cache-").FullName;

    /// <param name="configure">Runs after the app's own registrations: a test replaces a service there (the last registration wins).</param>
    public AzureApp(string connectionString, IReadOnlyDictionary<string, string?>? settings = null, Action<IServiceCollection>? configure = null)
    {
        var values = new Dictionary<string, string?>
        {
            [AzureContract.StorageConnection] = connectionString,
            ["Inference:CacheDirectory"] = _cacheDirectory,
            ["Inference:RefreshIntervalSeconds"] = "5",
        };
        foreach (var (key, value) in settings ?? new Dictionary<string, string?>())
        {
            values[key] = value;
        }

        var configuration = new ConfigurationBuilder().AddInMemoryCollection(values).Build();
        var services = new ServiceCollection();
        services.AddSingleton<IConfiguration>(configuration);
        services.AddLogging(logging => logging.SetMinimumLevel(LogLevel.Warning));
        services.AddSingleton<TimeProvider>(Time);
        services
            .AddInferenceStorage()
            .AddBlobInference(configuration)
            .AddBlobBatchScoring()
            .AddEventGridStreaming(configuration)
            .AddModelWarmup();
        configure?.Invoke(services);
        _services = services.BuildServiceProvider();
    }

    public FakeTimeProvider Time { get; } = new(DateTimeOffset.Parse("2026-11-28T00:00:00Z", System.Globalization.CultureInfo.InvariantCulture));

    public IServiceProvider Services => _services;

    public ModelHost Host => _services.GetRequiredService<ModelHost>();

    /// <summary>The model host's artifact cache folder.</summary>
    public string CacheDirectory => _cacheDirectory;

    public BlobServiceClient Storage => _services.GetRequiredService<InferenceStorage>().Service;

    public T Create<T>() => ActivatorUtilities.CreateInstance<T>(_services);

    /// <summary>Runs the batch function as the worker would for an Event Grid delivery of this blob.</summary>
    public Task ScoreAsync(BlobClient blob, CancellationToken cancellationToken = default) => Create<ScoreBlob>().RunAsync(blob, cancellationToken);

    /// <summary>Runs the shard worker as the host would for a delivery of this (already base64-decoded) queue message.</summary>
    public Task ScoreShardAsync(string message, CancellationToken cancellationToken = default) => Create<ScoreShard>().RunAsync(message, cancellationToken);

    /// <summary>Sends a request through the catch-all protocol function, with the path the client sent.</summary>
    public async Task<HttpReply> SendAsync(string method, string path, string? json = null)
    {
        var functions = Create<OpenInferenceFunctions>();
        var context = HttpReply.NewContext(method, path, json);
        var task = path switch
        {
            "/v2/health/live" => functions.LiveAsync(context.Request),
            "/v2/health/ready" => functions.ReadyAsync(context.Request),
            _ => functions.ProtocolAsync(context.Request),
        };
        await task;
        return HttpReply.From(context);
    }

    public void Dispose()
    {
        _services.Dispose();
        Directory.Delete(_cacheDirectory, recursive: true);
    }
}
