using System.Reflection;
using Serverless.Functions.Azure.HostStandIn.Host;

namespace Serverless.Functions.Azure.Tests.Support;

/// <summary>
/// The app's real worker process (its build output), started and driven by the host stand-in the way the Functions
/// host starts a .NET isolated worker, over a real Azurite that holds the iris model; once per test class.
/// The stand-in is hand-written because the host itself cannot run here (see <see cref="FunctionsHostStandIn"/>).
/// </summary>
public sealed class RunningWorker : IAsyncLifetime
{
    private readonly Azurite _azurite = new();
    private readonly string _cacheDirectory = Directory.CreateTempSubdirectory("worker-cache-").FullName;
    private FunctionsHostStandIn? _host;
    private WorkerChannel? _worker;

    /// <summary>The app's build output: worker.config.json, functions.metadata, host.json and the app.</summary>
    public static string AppDirectory =>
        typeof(RunningWorker).Assembly.GetCustomAttributes<AssemblyMetadataAttribute>().Single(a => a.Key == "AzureWorkerDirectory").Value!;

    internal WorkerChannel Worker => _worker ?? throw new InvalidOperationException("the worker is not started");

    /// <summary>The worker's capabilities from its WorkerInitResponse.</summary>
    public IReadOnlyDictionary<string, string> Capabilities { get; private set; } = new Dictionary<string, string>();

    public async Task InitializeAsync()
    {
        await _azurite.InitializeAsync();
        var models = _azurite.Container("models");
        await models.CreateAsync();
        await models.UploadBlobAsync("iris/model.json", new BinaryData(Iris.Manifest));
        await models.UploadBlobAsync("iris/1/model.onnx", new BinaryData(Iris.Onnx));

        _host = await FunctionsHostStandIn.StartAsync();
        var settings = new Dictionary<string, string>
        {
            [AzureContract.StorageConnection] = _azurite.ConnectionString,
            ["Inference__CacheDirectory"] = _cacheDirectory,
        };
        _worker = _host.StartWorker(new WorkerLaunch(AppDirectory, settings));
        using var timeout = new CancellationTokenSource(TimeSpan.FromMinutes(3));
        Capabilities = await _worker.InitializeAsync(timeout.Token);
        await _worker.LoadFunctionsAsync(timeout.Token);
    }

    public async Task DisposeAsync()
    {
        if (_worker is not null)
        {
            await _worker.DisposeAsync();
        }

        if (_host is not null)
        {
            await _host.DisposeAsync();
        }

        await _azurite.DisposeAsync();
        Directory.Delete(_cacheDirectory, recursive: true);
    }
}
