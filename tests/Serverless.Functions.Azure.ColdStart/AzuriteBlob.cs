using System.Diagnostics;
using System.Globalization;
using System.Net;
using System.Net.Sockets;
using System.Reflection;
using Azure.Storage.Blobs;

namespace Serverless.Functions.Azure.ColdStart;

/// <summary>Azurite's blob service (the adapter tests' pinned npm install) on a free port on 127.0.0.1, in memory: the models' store.</summary>
internal sealed class AzuriteBlob : IDisposable
{
    private const string DevAccount = "devstoreaccount1";
    private const string DevKey = "Eby8vdM02xNOcqFlqUwJPLlmEtlCDXJ1OUzFT50uSRZ6IFsuFq2UVErCz4I6tq/K1SZFPTOtr/KBHBeksoGMGw==";

    private readonly Process _process;
    private readonly string _workDirectory;

    private AzuriteBlob(Process process, string workDirectory, int port)
    {
        _process = process;
        _workDirectory = workDirectory;
        ConnectionString = $"DefaultEndpointsProtocol=http;AccountName={DevAccount};AccountKey={DevKey};BlobEndpoint=http://127.0.0.1:{port}/{DevAccount};";
    }

    public string ConnectionString { get; }

    public BlobServiceClient CreateClient() => new(ConnectionString, new BlobClientOptions(BlobClientOptions.ServiceVersion.V2026_06_06));

    public static async Task<AzuriteBlob> StartAsync()
    {
        var main = typeof(AzuriteBlob).Assembly.GetCustomAttributes<AssemblyMetadataAttribute>().Single(a => a.Key == "AzuriteMain").Value!;
        if (!File.Exists(main))
        {
            throw new InvalidOperationException($"Azurite is not installed at {main}; building this project installs it (npm ci in tests/Serverless.Functions.Azure.Tests).");
        }

        var port = FreePort();
        var workDirectory = Directory.CreateTempSubdirectory("coldstart-azurite-").FullName;
        var start = new ProcessStartInfo("node") { WorkingDirectory = workDirectory, UseShellExecute = false, RedirectStandardOutput = true, RedirectStandardError = true };
        foreach (var argument in (string[])[main, "--blobHost", "127.0.0.1", "--blobPort", port.ToString(CultureInfo.InvariantCulture), "--inMemoryPersistence", "--silent"])
        {
            start.ArgumentList.Add(argument);
        }

        var process = Process.Start(start) ?? throw new InvalidOperationException("node did not start");
        process.OutputDataReceived += (_, _) => { };
        process.ErrorDataReceived += (_, _) => { };
        process.BeginOutputReadLine();
        process.BeginErrorReadLine();
        var azurite = new AzuriteBlob(process, workDirectory, port);
        var client = azurite.CreateClient();
        var deadline = Stopwatch.StartNew();
        while (true)
        {
            try
            {
                await client.GetPropertiesAsync().ConfigureAwait(false);
                return azurite;
            }
            catch (Exception e) when (e is global::Azure.RequestFailedException or HttpRequestException or AggregateException or IOException && deadline.Elapsed < TimeSpan.FromSeconds(60) && !process.HasExited)
            {
                await Task.Delay(200).ConfigureAwait(false);
            }
        }
    }

    private static int FreePort()
    {
        using var listener = new TcpListener(IPAddress.Loopback, 0);
        listener.Start();
        return ((IPEndPoint)listener.LocalEndpoint).Port;
    }

    public void Dispose()
    {
        if (!_process.HasExited)
        {
            _process.Kill(entireProcessTree: true);
            _process.WaitForExit(10_000);
        }

        _process.Dispose();
        Directory.Delete(_workDirectory, recursive: true);
    }
}
