using System.Net;
using System.Net.Sockets;
using Grpc.Net.Client;
using Microsoft.AspNetCore.Builder;
using Serverless.Infer.Cli;
using Serverless.Inference.Grpc.V2;
using Serverless.Inference.Tests.Support;

namespace Serverless.Inference.Tests.Grpc;

/// <summary>
/// <c>infer serve --grpc-port</c>'s real host (<see cref="ServeCommand.Build"/>) over iris and MiniLM on two free
/// loopback ports, with a generated gRPC client on one and the REST client on the other, to compare their answers.
/// </summary>
public sealed class GrpcServeFixture : IAsyncLifetime
{
    /// <summary>Small, so that a message over it is cheap to send.</summary>
    public const int MaxRequestBytes = 256 * 1024;

    private readonly TempModelRepository _repository = new TempModelRepository().CopySample("iris").CopySample("minilm");
    private WebApplication? _app;
    private GrpcChannel? _channel;

    internal GRPCInferenceService.GRPCInferenceServiceClient Grpc { get; private set; } = null!;

    public OipClient Rest { get; private set; } = null!;

    public int GrpcPort { get; private set; }

    public async Task InitializeAsync()
    {
        var restPort = FreePort();
        GrpcPort = FreePort();
        _app = ServeCommand.Build(new ServeSettings(_repository.Root, restPort, MaxRequestBytes, Warmup: false, GrpcPort: GrpcPort));
        await _app.StartAsync();
        _channel = GrpcChannel.ForAddress($"http://127.0.0.1:{GrpcPort}");
        Grpc = new GRPCInferenceService.GRPCInferenceServiceClient(_channel);
        Rest = new OipClient(new Uri($"http://127.0.0.1:{restPort}"));
    }

    public async Task DisposeAsync()
    {
        Rest?.Dispose();
        _channel?.Dispose();
        if (_app is not null)
        {
            await _app.StopAsync();
            await _app.DisposeAsync();
        }

        _repository.Dispose();
    }

    private static int FreePort()
    {
        using var listener = new TcpListener(IPAddress.Loopback, 0);
        listener.Start();
        return ((IPEndPoint)listener.LocalEndpoint).Port;
    }
}
