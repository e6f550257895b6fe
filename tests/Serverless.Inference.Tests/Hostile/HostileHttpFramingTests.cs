using System.Net.Sockets;
using System.Text;
using System.Text.Json;
using Serverless.Inference.Tests.Support;

namespace Serverless.Inference.Tests.Hostile;

/// <summary>
/// Bodies whose HTTP framing is broken or whose bytes crawl in, sent over a raw socket to the real Kestrel host:
/// the server's verdict on the framing is a 4xx with a JSON reason, never a 500, and the server keeps serving.
/// </summary>
public sealed class HostileHttpFramingTests : IAsyncLifetime
{
    private const string Model = "identity-fp32";

    private readonly TempModelRepository _repository = new TempModelRepository().Add(Model, OnnxTestModels.Identity(OnnxElementType.Float));
    private OipTestServer _server = null!;

    public async Task InitializeAsync() => _server = await OipTestServer.StartAsync(_repository.Root);

    public async Task DisposeAsync()
    {
        await _server.DisposeAsync();
        _repository.Dispose();
    }

    [Theory]
    [InlineData("ZZ\r\n{}\r\n0\r\n\r\n")]
    [InlineData("5\r\n{\"inp\r\n-1\r\n")]
    [InlineData("FFFFFFFFFFFFFFFFFFFF\r\n{}\r\n0\r\n\r\n")]
    public async Task Infer_MalformedChunkedBody_Returns400WithAReason(string chunks)
    {
        using var client = await ConnectAsync();
        await SendAsync(client, $"POST /v2/models/{Model}/infer HTTP/1.1\r\nHost: test\r\nTransfer-Encoding: chunked\r\n\r\n{chunks}");

        var (status, body) = await ReadResponseAsync(client);

        Assert.Equal(400, status);
        Assert.Matches("^the request body (is malformed|could not be read): .+", ErrorOf(body));
        (await _server.Client.GetAsync("/v2/health/live")).AssertOk();
    }

    [Fact]
    public async Task Infer_BodiesArrivingTooSlowly_EachGets408WithAReason()
    {
        // Kestrel's minimum body data rate (240 bytes/s after a 5 s grace period) cuts these off.
        var clients = await Task.WhenAll(Enumerable.Range(0, 8).Select(async _ =>
        {
            var client = await ConnectAsync();
            await SendAsync(client, $"POST /v2/models/{Model}/infer HTTP/1.1\r\nHost: test\r\nContent-Length: 100000\r\n\r\n{{\"inputs\":");
            return client;
        }));

        try
        {
            var responses = await Task.WhenAll(clients.Select(ReadResponseAsync));

            Assert.All(responses, response =>
            {
                Assert.Equal(408, response.Status);
                Assert.StartsWith("the request body did not arrive in time: ", ErrorOf(response.Body), StringComparison.Ordinal);
            });
        }
        finally
        {
            foreach (var client in clients)
            {
                client.Dispose();
            }
        }

        (await _server.Client.GetAsync("/v2/health/live")).AssertOk();
    }

    private async Task<TcpClient> ConnectAsync()
    {
        var client = new TcpClient();
        await client.ConnectAsync(_server.Address.Host, _server.Address.Port);
        return client;
    }

    private static async Task SendAsync(TcpClient client, string text) =>
        await client.GetStream().WriteAsync(Encoding.Latin1.GetBytes(text));

    /// <summary>Reads one response: the status line, headers up to the blank line, then Content-Length bytes.</summary>
    private static async Task<(int Status, string Body)> ReadResponseAsync(TcpClient client)
    {
        using var timeout = new CancellationTokenSource(TimeSpan.FromSeconds(60));
        var stream = client.GetStream();
        var received = new List<byte>();
        var buffer = new byte[4096];
        int headerEnd;
        while ((headerEnd = IndexOfBlankLine(received)) < 0)
        {
            var read = await stream.ReadAsync(buffer, timeout.Token);
            Assert.True(read > 0, "the connection closed before a response: " + Encoding.Latin1.GetString([.. received]));
            received.AddRange(buffer.AsSpan(0, read));
        }

        var head = Encoding.Latin1.GetString([.. received.Take(headerEnd)]);
        var lines = head.Split("\r\n");
        var status = int.Parse(lines[0].Split(' ')[1], System.Globalization.CultureInfo.InvariantCulture);
        var length = lines.Skip(1).Select(l => l.Split(':', 2)).Where(p => p[0].Equals("Content-Length", StringComparison.OrdinalIgnoreCase))
            .Select(p => int.Parse(p[1].Trim(), System.Globalization.CultureInfo.InvariantCulture)).Single();
        while (received.Count < headerEnd + 4 + length)
        {
            var read = await stream.ReadAsync(buffer, timeout.Token);
            Assert.True(read > 0, "the connection closed inside the response body");
            received.AddRange(buffer.AsSpan(0, read));
        }

        return (status, Encoding.UTF8.GetString([.. received.Skip(headerEnd + 4).Take(length)]));
    }

    private static int IndexOfBlankLine(List<byte> bytes)
    {
        for (var i = 0; i + 3 < bytes.Count; i++)
        {
            if (bytes[i] == '\r' && bytes[i + 1] == '\n' && bytes[i + 2] == '\r' && bytes[i + 3] == '\n')
            {
                return i;
            }
        }

        return -1;
    }

    private static string ErrorOf(string body)
    {
        using var json = JsonDocument.Parse(body);
        return json.RootElement.GetProperty("error").GetString()!;
    }
}
