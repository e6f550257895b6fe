using System.Net.Http.Headers;
using System.Text;
using Serverless.Inference.Protocol;
using Serverless.Inference.Tests.Support;

namespace Serverless.Inference.Tests.Protocol;

/// <summary>The request body limit over HTTP: 413 whether the length is declared or the body is chunked.</summary>
public sealed class RequestLimitTests : IAsyncLifetime
{
    private const int Limit = 64 * 1024;
    private const string Model = "identity-fp32";
    private const string Request = """{"inputs":[{"name":"x","datatype":"FP32","shape":[2],"data":[1.5,-2]}]}""";

    private readonly TempModelRepository _repository = new TempModelRepository().Add(Model, OnnxTestModels.Identity(OnnxElementType.Float));
    private OipTestServer _server = null!;

    public async Task InitializeAsync() => _server = await OipTestServer.StartAsync(_repository.Root, Limit);

    public async Task DisposeAsync()
    {
        await _server.DisposeAsync();
        _repository.Dispose();
    }

    [Fact]
    public async Task Infer_DeclaredLengthOverLimit_Returns413()
    {
        var reply = await _server.Client.PostAsync($"/v2/models/{Model}/infer", OipClient.Json(Padded(Limit + 1)));

        reply.AssertError(413, $"is larger than the limit of {Limit} bytes");
        await AssertStillServingAsync();
    }

    [Fact]
    public async Task Infer_ChunkedBodyOverLimit_Returns413()
    {
        var reply = await _server.Client.PostAsync($"/v2/models/{Model}/infer", Chunked(Padded(Limit * 2)));

        reply.AssertError(413, $"is larger than the limit of {Limit} bytes");
        await AssertStillServingAsync();
    }

    [Fact]
    public async Task Infer_ChunkedBodyFarOverLimit_Returns413()
    {
        var reply = await _server.Client.PostAsync($"/v2/models/{Model}/infer", Chunked(Padded(Limit * 16)));

        reply.AssertError(413, $"is larger than the limit of {Limit} bytes");
        await AssertStillServingAsync();
    }

    [Fact]
    public async Task Infer_ChunkedBodyJustOverLimit_Returns413()
    {
        var reply = await _server.Client.PostAsync($"/v2/models/{Model}/infer", Chunked(Padded(Limit + 1)));

        reply.AssertError(413, $"over {Limit} bytes");
    }

    [Fact]
    public async Task Infer_DeclaredLengthExactlyAtLimit_IsServed()
    {
        var reply = await _server.Client.PostAsync($"/v2/models/{Model}/infer", OipClient.Json(Padded(Limit)));

        reply.AssertOk();
        Assert.Equal([1.5f, -2f], reply.Data("y").Select(v => v.GetSingle()));
    }

    [Fact]
    public async Task Infer_ChunkedBodyExactlyAtLimit_IsServed()
    {
        var reply = await _server.Client.PostAsync($"/v2/models/{Model}/infer", Chunked(Padded(Limit)));

        reply.AssertOk();
        Assert.Equal([1.5f, -2f], reply.Data("y").Select(v => v.GetSingle()));
    }

    [Fact]
    public async Task Infer_ChunkedSmallBody_IsServed()
    {
        var reply = await _server.Client.PostAsync($"/v2/models/{Model}/infer", Chunked(Request));

        reply.AssertOk();
    }

    [Fact]
    public async Task Infer_ChunkedBinaryBody_IsServed()
    {
        var header = """{"inputs":[{"name":"x","datatype":"FP32","shape":[2],"parameters":{"binary_data_size":8}}]}""";
        var headerBytes = Encoding.UTF8.GetBytes(header);
        var content = new StreamContent(new NonSeekableStream([.. headerBytes, .. OipClient.Raw(1.5f, -2f)]));
        content.Headers.ContentType = new MediaTypeHeaderValue(OipHeaders.Binary);
        content.Headers.Add(OipHeaders.InferenceHeaderContentLength, headerBytes.Length.ToString(System.Globalization.CultureInfo.InvariantCulture));

        var reply = await _server.Client.PostAsync($"/v2/models/{Model}/infer", content);

        reply.AssertOk();
        Assert.Equal([1.5f, -2f], reply.Data("y").Select(v => v.GetSingle()));
    }

    [Fact]
    public async Task Handler_DeclaredLengthOverLimit_Refuses413BeforeReading()
    {
        using var harness = new OipHandlerHarness(_repository.Root, new RequestLimits { MaxRequestBytes = 100 });
        var body = new ThrowingStream();
        var request = new OipHttpRequest("POST", $"/v2/models/{Model}/infer", _ => null, body, ContentLength: 1L << 40);

        using var response = await harness.Handler.HandleAsync(request, CancellationToken.None);

        Assert.Equal(413, response.StatusCode);
        Assert.Contains("is larger than the limit of 100 bytes", Encoding.UTF8.GetString(response.Body.Span), StringComparison.Ordinal);
        Assert.False(body.WasRead);
    }

    [Fact]
    public async Task Handler_UndeclaredLengthOverLimit_Returns413()
    {
        using var harness = new OipHandlerHarness(_repository.Root, new RequestLimits { MaxRequestBytes = 100 });

        var reply = await harness.SendAsync("POST", $"/v2/models/{Model}/infer", Encoding.UTF8.GetBytes(Padded(101)), contentLength: -1);

        reply.AssertError(413, "(over 100 bytes) is larger than the limit of 100 bytes");
    }

    [Fact]
    public async Task Handler_UndeclaredLengthAtLimit_IsServed()
    {
        using var harness = new OipHandlerHarness(_repository.Root, new RequestLimits { MaxRequestBytes = 100 });

        var reply = await harness.SendAsync("POST", $"/v2/models/{Model}/infer", Encoding.UTF8.GetBytes(Padded(100)), contentLength: -1);

        reply.AssertOk();
    }

    private async Task AssertStillServingAsync()
    {
        var reply = await _server.Client.InferAsync(Model, Request);
        reply.AssertOk();
    }

    /// <summary>The valid request padded with trailing whitespace to exactly <paramref name="length"/> bytes.</summary>
    private static string Padded(int length) => Request + new string(' ', length - Request.Length);

    /// <summary>A body HttpClient cannot measure, so it goes with Transfer-Encoding: chunked and no Content-Length.</summary>
    private static StreamContent Chunked(string json)
    {
        var content = new StreamContent(new NonSeekableStream(Encoding.UTF8.GetBytes(json)));
        content.Headers.ContentType = new MediaTypeHeaderValue("application/json");
        return content;
    }

    private sealed class NonSeekableStream(byte[] data) : MemoryStream(data, writable: false)
    {
        public override bool CanSeek => false;

        public override long Length => throw new NotSupportedException();

        public override long Position
        {
            get => throw new NotSupportedException();
            set => throw new NotSupportedException();
        }
    }

    private sealed class ThrowingStream : Stream
    {
        public bool WasRead { get; private set; }

        public override bool CanRead => true;

        public override bool CanSeek => false;

        public override bool CanWrite => false;

        public override long Length => throw new NotSupportedException();

        public override long Position
        {
            get => throw new NotSupportedException();
            set => throw new NotSupportedException();
        }

        public override int Read(byte[] buffer, int offset, int count)
        {
            WasRead = true;
            throw new InvalidOperationException("the body must not be read");
        }

        public override ValueTask<int> ReadAsync(Memory<byte> buffer, CancellationToken cancellationToken = default)
        {
            WasRead = true;
            throw new InvalidOperationException("the body must not be read");
        }

        public override void Flush()
        {
        }

        public override long Seek(long offset, SeekOrigin origin) => throw new NotSupportedException();

        public override void SetLength(long value) => throw new NotSupportedException();

        public override void Write(byte[] buffer, int offset, int count) => throw new NotSupportedException();
    }
}
