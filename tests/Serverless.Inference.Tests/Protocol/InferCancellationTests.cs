using System.Diagnostics.Metrics;
using System.Globalization;
using System.Net;
using System.Net.Http.Headers;
using System.Runtime.InteropServices;
using System.Text;
using Serverless.Inference.Protocol;
using Serverless.Inference.Telemetry;
using Serverless.Inference.Tests.Support;

namespace Serverless.Inference.Tests.Protocol;

/// <summary>
/// A request cancelled while its model runs: the run is terminated through its RunOptions, the server stays
/// healthy, and the same session serves the next request. No timing is asserted: the cancelled run would
/// otherwise end in a 200, so a 504 outcome is the proof that it was stopped.
/// </summary>
public sealed class InferCancellationTests : IAsyncLifetime
{
    private const string Model = "slow-cancel";
    private const int Width = 256;

    /// <summary>Rows for a run that takes many seconds uncancelled (512 rows through 4000 MatMul nodes).</summary>
    private const int SlowRows = 512;

    private readonly TempModelRepository _repository =
        new TempModelRepository().Add(Model, OnnxTestModels.SlowModel(4000), manifest: """{ "intra_op_threads": 1 }""");

    private OipTestServer _server = null!;

    public async Task InitializeAsync() => _server = await OipTestServer.StartAsync(_repository.Root);

    public async Task DisposeAsync()
    {
        await _server.DisposeAsync();
        _repository.Dispose();
    }

    [Fact]
    public async Task Infer_ClientCancelsMidRun_ServerStaysHealthyAndSessionStaysUsable()
    {
        AssertSmallRun(await _server.Client.InferBinaryAsync(Model, SmallHeader, SmallBody));
        var sessions = _server.Host.SessionsCreated;
        using var outcomes = new RequestOutcomes(Model);

        using var cancel = new CancellationTokenSource();
        // Cancel once the whole body is on the wire, so the cancellation finds the server running the model.
        using var content = new SignallingContent(SlowBody(), () => cancel.CancelAfter(TimeSpan.FromMilliseconds(500)));
        content.Headers.ContentType = new MediaTypeHeaderValue(OipHeaders.Binary);
        content.Headers.Add(OipHeaders.InferenceHeaderContentLength, SlowHeaderLength);
        await Assert.ThrowsAnyAsync<OperationCanceledException>(
            () => _server.Client.Http.PostAsync(new Uri($"/v2/models/{Model}/infer", UriKind.Relative), content, cancel.Token));

        // The server records the cancelled request once its run has returned: 504, where a finished run records 200.
        Assert.Equal(504, await outcomes.Next.WaitAsync(OipClient.HangGuard));
        (await _server.Client.GetAsync("/v2/health/live")).AssertOk();
        (await _server.Client.GetAsync($"/v2/models/{Model}/ready")).AssertOk();
        AssertSmallRun(await _server.Client.InferBinaryAsync(Model, SmallHeader, SmallBody));
        Assert.Equal(sessions, _server.Host.SessionsCreated);
    }

    [Fact]
    public async Task Infer_HttpClientTimeoutMidRun_NextRequestSucceeds()
    {
        AssertSmallRun(await _server.Client.InferBinaryAsync(Model, SmallHeader, SmallBody));
        using var outcomes = new RequestOutcomes(Model);
        using var impatient = new HttpClient { BaseAddress = _server.Address, Timeout = TimeSpan.FromSeconds(1) };

        await Assert.ThrowsAnyAsync<OperationCanceledException>(
            () => impatient.PostAsync(new Uri($"/v2/models/{Model}/infer", UriKind.Relative), SlowContent()));

        Assert.Equal(504, await outcomes.Next.WaitAsync(OipClient.HangGuard));
        AssertSmallRun(await _server.Client.InferBinaryAsync(Model, SmallHeader, SmallBody));
    }

    [Fact]
    public async Task Handler_TokenCancelledMidRun_Returns504AndSessionStaysUsable()
    {
        using var harness = new OipHandlerHarness(_repository.Root);
        AssertSmallRun(await harness.SendAsync("POST", $"/v2/models/{Model}/infer", [.. Encoding.UTF8.GetBytes(SmallHeader), .. SmallBody], SmallHeaders));
        var sessions = harness.Host.SessionsCreated;
        using var cancel = new CancellationTokenSource(TimeSpan.FromMilliseconds(500));

        var reply = await harness.SendAsync(
            "POST",
            $"/v2/models/{Model}/infer",
            SlowBody(),
            new Dictionary<string, string> { [OipHeaders.InferenceHeaderContentLength] = SlowHeaderLength },
            cancellationToken: cancel.Token);

        reply.AssertError(504, "the request was cancelled or ran past its deadline");
        AssertSmallRun(await harness.SendAsync("POST", $"/v2/models/{Model}/infer", [.. Encoding.UTF8.GetBytes(SmallHeader), .. SmallBody], SmallHeaders));
        Assert.Equal(sessions, harness.Host.SessionsCreated);
    }

    private static string SmallHeader => Header(1, Width * sizeof(float));

    /// <summary>One row 0, 1, ..., 255: every output element is its mean, 127.5.</summary>
    private static byte[] SmallBody => OipClient.Raw([.. Enumerable.Range(0, Width).Select(i => (float)i)]);

    private static Dictionary<string, string> SmallHeaders =>
        new() { [OipHeaders.InferenceHeaderContentLength] = Encoding.UTF8.GetByteCount(SmallHeader).ToString(CultureInfo.InvariantCulture) };

    private static string SlowHeader => Header(SlowRows, SlowRows * Width * sizeof(float));

    private static string SlowHeaderLength => Encoding.UTF8.GetByteCount(SlowHeader).ToString(CultureInfo.InvariantCulture);

    private static byte[] SlowBody() => [.. Encoding.UTF8.GetBytes(SlowHeader), .. new byte[SlowRows * Width * sizeof(float)]];

    private static ByteArrayContent SlowContent()
    {
        var content = new ByteArrayContent(SlowBody());
        content.Headers.ContentType = new MediaTypeHeaderValue(OipHeaders.Binary);
        content.Headers.Add(OipHeaders.InferenceHeaderContentLength, SlowHeaderLength);
        return content;
    }

    private static string Header(int rows, int bytes) =>
        $$$"""{"inputs":[{"name":"x","datatype":"FP32","shape":[{{{rows}}},{{{Width}}}],"parameters":{"binary_data_size":{{{bytes}}}}}],"parameters":{"binary_data_output":true}}""";

    private static void AssertSmallRun(OipReply reply)
    {
        reply.AssertOk();
        Assert.Equal([1L, Width], reply.Shape("y"));
        var values = MemoryMarshal.Cast<byte, float>(reply.BinaryOutput("y")).ToArray();
        Assert.Equal(Width, values.Length);
        Assert.All(values, value => Assert.Equal(127.5f, value, 0.01f));
    }

    /// <summary>The status of the next recorded inference request for one model, from the inference.requests counter.</summary>
    private sealed class RequestOutcomes : IDisposable
    {
        private readonly MeterListener _listener = new();
        private readonly TaskCompletionSource<int> _next = new(TaskCreationOptions.RunContinuationsAsynchronously);

        public RequestOutcomes(string model)
        {
            _listener.InstrumentPublished = (instrument, listener) =>
            {
                if (instrument.Meter.Name == InferenceTelemetry.Name && instrument.Name == "inference.requests")
                {
                    listener.EnableMeasurementEvents(instrument);
                }
            };
            _listener.SetMeasurementEventCallback<long>((_, _, tags, _) =>
            {
                string? name = null;
                int? status = null;
                foreach (var tag in tags)
                {
                    if (tag.Key == "model.name")
                    {
                        name = tag.Value as string;
                    }
                    else if (tag.Key == "status")
                    {
                        status = Convert.ToInt32(tag.Value, CultureInfo.InvariantCulture);
                    }
                }

                if (name == model && status is { } value)
                {
                    _next.TrySetResult(value);
                }
            });
            _listener.Start();
        }

        public Task<int> Next => _next.Task;

        public void Dispose() => _listener.Dispose();
    }

    /// <summary>A body that reports when all of it has been written to the connection.</summary>
    private sealed class SignallingContent(byte[] body, Action sent) : HttpContent
    {
        protected override async Task SerializeToStreamAsync(Stream stream, TransportContext? context)
        {
            await stream.WriteAsync(body);
            await stream.FlushAsync();
            sent();
        }

        protected override bool TryComputeLength(out long length)
        {
            length = body.Length;
            return true;
        }
    }
}
