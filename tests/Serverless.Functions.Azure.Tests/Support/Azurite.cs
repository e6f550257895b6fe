using System.Diagnostics;
using System.Net;
using System.Net.Sockets;
using System.Reflection;
using Azure.Storage.Blobs;

namespace Serverless.Functions.Azure.Tests.Support;

/// <summary>
/// A real Azurite blob service (the npm package the build installs) on a free port on 127.0.0.1, in memory,
/// started once per test class and stopped when the class is done; <see cref="AzuriteWithQueues"/> adds the queue
/// service, in a process of its own, for the classes that use it.
/// </summary>
public class Azurite : IAsyncLifetime
{
    private const string DevAccount = "devstoreaccount1";
    private const string DevKey = "Eby8vdM02xNOcqFlqUwJPLlmEtlCDXJ1OUzFT50uSRZ6IFsuFq2UVErCz4I6tq/K1SZFPTOtr/KBHBeksoGMGw==";

    private readonly string _workDirectory = Directory.CreateTempSubdirectory("azurite-").FullName;
    private readonly System.Collections.Concurrent.ConcurrentQueue<string> _output = new();
    private readonly bool _queues;
    private Process? _process;
    private Process? _queueProcess;

    public Azurite()
        : this(queues: false)
    {
    }

    protected Azurite(bool queues)
    {
        _queues = queues;
    }

    public int Port { get; private set; }

    /// <summary>The queue service's port, when this Azurite runs one.</summary>
    public int QueuePort { get; private set; }

    public string ConnectionString =>
        $"DefaultEndpointsProtocol=http;AccountName={DevAccount};AccountKey={DevKey};BlobEndpoint=http://127.0.0.1:{Port}/{DevAccount};"
        + (_queues ? $"QueueEndpoint=http://127.0.0.1:{QueuePort}/{DevAccount};" : "");

    public BlobServiceClient CreateClient() => new(ConnectionString, new BlobClientOptions(BlobClientOptions.ServiceVersion.V2026_06_06));

    /// <summary>Containers for one test, so tests sharing this Azurite never see each other's blobs.</summary>
    public BlobContainerClient Container(string name) => CreateClient().GetBlobContainerClient(name);

    public async Task InitializeAsync()
    {
        var main = MainScript("AzuriteMain");
        Port = FreePort();
        _process = Start(main, "--blobHost", "127.0.0.1", "--blobPort", Port.ToString(System.Globalization.CultureInfo.InvariantCulture));
        if (_queues)
        {
            QueuePort = FreePort();
            _queueProcess = Start(MainScript("AzuriteQueueMain"), "--queueHost", "127.0.0.1", "--queuePort", QueuePort.ToString(System.Globalization.CultureInfo.InvariantCulture));
        }

        await WaitUntilReadyAsync().ConfigureAwait(false);
    }

    private static string MainScript(string key)
    {
        var main = typeof(Azurite).Assembly.GetCustomAttributes<AssemblyMetadataAttribute>().Single(a => a.Key == key).Value!;
        return File.Exists(main) ? main : throw new InvalidOperationException($"Azurite is not installed at {main}; the test project's build installs it with npm ci.");
    }

    private Process Start(string main, params string[] arguments)
    {
        var start = new ProcessStartInfo("node")
        {
            WorkingDirectory = _workDirectory,
            RedirectStandardOutput = true,
            RedirectStandardError = true,
            UseShellExecute = false,
        };
        foreach (string argument in (string[])[main, .. arguments, "--inMemoryPersistence", "--silent"])
        {
            start.ArgumentList.Add(argument);
        }

        var process = Process.Start(start) ?? throw new InvalidOperationException("node did not start");
        process.OutputDataReceived += (_, e) => Remember(e.Data);
        process.ErrorDataReceived += (_, e) => Remember(e.Data);
        process.BeginOutputReadLine();
        process.BeginErrorReadLine();
        return process;
    }

    public Task DisposeAsync()
    {
        foreach (var process in new[] { _process, _queueProcess })
        {
            if (process is { HasExited: false })
            {
                process.Kill(entireProcessTree: true);
                process.WaitForExit(10_000);
            }

            process?.Dispose();
        }

        Directory.Delete(_workDirectory, recursive: true);
        return Task.CompletedTask;
    }

    private async Task WaitUntilReadyAsync()
    {
        var options = new BlobClientOptions(BlobClientOptions.ServiceVersion.V2026_06_06);
        options.Retry.MaxRetries = 0;
        var client = new BlobServiceClient(ConnectionString, options);
        var queueOptions = new global::Azure.Storage.Queues.QueueClientOptions(global::Azure.Storage.Queues.QueueClientOptions.ServiceVersion.V2026_06_06);
        queueOptions.Retry.MaxRetries = 0;
        var queues = _queues ? new global::Azure.Storage.Queues.QueueServiceClient(ConnectionString, queueOptions) : null;
        var deadline = Stopwatch.StartNew();
        while (true)
        {
            try
            {
                await client.GetPropertiesAsync().ConfigureAwait(false);
                if (queues is not null)
                {
                    await queues.GetPropertiesAsync().ConfigureAwait(false);
                }

                return;
            }
            catch (Exception e) when (deadline.Elapsed < TimeSpan.FromSeconds(60) && e is global::Azure.RequestFailedException or HttpRequestException or AggregateException or IOException)
            {
                if (_process!.HasExited || _queueProcess is { HasExited: true })
                {
                    throw new InvalidOperationException($"Azurite exited before it was ready: {string.Join('\n', _output)}", e);
                }

                await Task.Delay(200).ConfigureAwait(false);
            }
        }
    }

    private void Remember(string? line)
    {
        if (line is not null && _output.Count < 50)
        {
            _output.Enqueue(line);
        }
    }

    private static int FreePort()
    {
        using var listener = new TcpListener(IPAddress.Loopback, 0);
        listener.Start();
        return ((IPEndPoint)listener.LocalEndpoint).Port;
    }
}

/// <summary>Azurite's blob and queue services: the shard queues and the queue-triggered worker.</summary>
public sealed class AzuriteWithQueues : Azurite
{
    public AzuriteWithQueues()
        : base(queues: true)
    {
    }

    public global::Azure.Storage.Queues.QueueServiceClient CreateQueueClient() =>
        new(ConnectionString, new global::Azure.Storage.Queues.QueueClientOptions(global::Azure.Storage.Queues.QueueClientOptions.ServiceVersion.V2026_06_06)
        {
            MessageEncoding = global::Azure.Storage.Queues.QueueMessageEncoding.Base64,
        });
}
