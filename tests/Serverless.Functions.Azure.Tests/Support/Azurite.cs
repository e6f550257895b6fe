using System.Diagnostics;
using System.Net;
using System.Net.Sockets;
using System.Reflection;
using Azure.Storage.Blobs;

namespace Serverless.Functions.Azure.Tests.Support;

/// <summary>
/// A real Azurite blob service (the npm package the build installs) on a free port on 127.0.0.1, in memory,
/// started once per test class and stopped when the class is done.
/// </summary>
public sealed class Azurite : IAsyncLifetime
{
    private const string DevAccount = "devstoreaccount1";
    private const string DevKey = "Eby8vdM02xNOcqFlqUwJPLlmEtlCDXJ1OUzFT50uSRZ6IFsuFq2UVErCz4I6tq/K1SZFPTOtr/KBHBeksoGMGw==";

    private readonly string _workDirectory = Directory.CreateTempSubdirectory("azurite-").FullName;
    private readonly System.Collections.Concurrent.ConcurrentQueue<string> _output = new();
    private Process? _process;

    public int Port { get; private set; }

    public string ConnectionString =>
        $"DefaultEndpointsProtocol=http;AccountName={DevAccount};AccountKey={DevKey};BlobEndpoint=http://127.0.0.1:{Port}/{DevAccount};";

    public BlobServiceClient CreateClient() => new(ConnectionString, new BlobClientOptions(BlobClientOptions.ServiceVersion.V2026_06_06));

    /// <summary>Containers for one test, so tests sharing this Azurite never see each other's blobs.</summary>
    public BlobContainerClient Container(string name) => CreateClient().GetBlobContainerClient(name);

    public async Task InitializeAsync()
    {
        var main = typeof(Azurite).Assembly.GetCustomAttributes<AssemblyMetadataAttribute>().Single(a => a.Key == "AzuriteMain").Value!;
        if (!File.Exists(main))
        {
            throw new InvalidOperationException($"Azurite is not installed at {main}; the test project's build installs it with npm ci.");
        }

        Port = FreePort();
        var start = new ProcessStartInfo("node")
        {
            WorkingDirectory = _workDirectory,
            RedirectStandardOutput = true,
            RedirectStandardError = true,
            UseShellExecute = false,
        };
        foreach (var argument in new[] { main, "--blobHost", "127.0.0.1", "--blobPort", Port.ToString(System.Globalization.CultureInfo.InvariantCulture), "--inMemoryPersistence", "--silent" })
        {
            start.ArgumentList.Add(argument);
        }

        _process = Process.Start(start) ?? throw new InvalidOperationException("node did not start");
        _process.OutputDataReceived += (_, e) => Remember(e.Data);
        _process.ErrorDataReceived += (_, e) => Remember(e.Data);
        _process.BeginOutputReadLine();
        _process.BeginErrorReadLine();
        await WaitUntilReadyAsync().ConfigureAwait(false);
    }

    public Task DisposeAsync()
    {
        if (_process is { HasExited: false })
        {
            _process.Kill(entireProcessTree: true);
            _process.WaitForExit(10_000);
        }

        _process?.Dispose();
        Directory.Delete(_workDirectory, recursive: true);
        return Task.CompletedTask;
    }

    private async Task WaitUntilReadyAsync()
    {
        var options = new BlobClientOptions(BlobClientOptions.ServiceVersion.V2026_06_06);
        options.Retry.MaxRetries = 0;
        var client = new BlobServiceClient(ConnectionString, options);
        var deadline = Stopwatch.StartNew();
        while (true)
        {
            try
            {
                await client.GetPropertiesAsync().ConfigureAwait(false);
                return;
            }
            catch (Exception e) when (deadline.Elapsed < TimeSpan.FromSeconds(60) && e is global::Azure.RequestFailedException or HttpRequestException or AggregateException or IOException)
            {
                if (_process!.HasExited)
                {
                    throw new InvalidOperationException($"Azurite exited with code {_process.ExitCode} before it was ready: {string.Join('\n', _output)}", e);
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
