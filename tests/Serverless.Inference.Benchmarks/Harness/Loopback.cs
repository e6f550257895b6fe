using System.Net;
using System.Net.Sockets;

namespace Serverless.Inference.Benchmarks.Harness;

internal static class Loopback
{
    /// <summary>The sample model repository the build lays out beside this program.</summary>
    public static string ModelRepository => Path.Combine(AppContext.BaseDirectory, "models");

    /// <summary>A client for loopback servers: no proxy, kept-alive connections, as many as the load needs.</summary>
    public static HttpClient Client(int maxConnections = 4) => new(new SocketsHttpHandler
    {
        UseProxy = false,
        MaxConnectionsPerServer = maxConnections,
        PooledConnectionLifetime = Timeout.InfiniteTimeSpan,
        AutomaticDecompression = DecompressionMethods.None,
    })
    {
        Timeout = TimeSpan.FromSeconds(60),
    };

    /// <summary>A port free a moment ago, for a child process that must be told its port.</summary>
    public static int FreePort()
    {
        using var listener = new TcpListener(IPAddress.Loopback, 0);
        listener.Start();
        var port = ((IPEndPoint)listener.LocalEndpoint).Port;
        listener.Stop();
        return port;
    }
}
