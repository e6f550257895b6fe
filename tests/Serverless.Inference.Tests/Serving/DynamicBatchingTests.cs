using System.Collections.Concurrent;
using System.Diagnostics.Metrics;
using System.Globalization;
using System.Text.Json;
using Serverless.Inference.Hosting;
using Serverless.Inference.Protocol;
using Serverless.Inference.Repository;
using Serverless.Inference.Runtime;
using Serverless.Inference.Serving;
using Serverless.Inference.Telemetry;
using Serverless.Inference.Tests.Support;

namespace Serverless.Inference.Tests.Serving;

/// <summary>
/// Dynamic batching on the real sample models: concurrent requests share one run (counted by the batcher's own
/// metric), each caller gets exactly its rows, and one caller's bad input, cancellation or deadline never touches the others.
/// </summary>
public sealed class DynamicBatchingTests : IDisposable
{
    private readonly TempModelRepository _repository = new();
    private readonly MeterListener _listener = new();
    private readonly ConcurrentQueue<(string Model, long Requests)> _runs = new();

    public DynamicBatchingTests()
    {
        _listener.InstrumentPublished = (instrument, listener) =>
        {
            if (instrument.Meter.Name == InferenceTelemetry.Name && instrument.Name == "inference.dynamic_batch.requests")
            {
                listener.EnableMeasurementEvents(instrument);
            }
        };
        _listener.SetMeasurementEventCallback<long>((_, value, tags, _) =>
        {
            foreach (var tag in tags)
            {
                if (tag.Key == "model.name")
                {
                    _runs.Enqueue(((string)tag.Value!, value));
                }
            }
        });
        _listener.Start();
    }

    [Fact]
    public async Task ConcurrentRequests_ShareOneRun_AndEachGetsExactlyItsRows()
    {
        var model = AddIris("iris-shared", """{"max_queue_delay_microseconds": 1000000, "preferred_batch_size": [12]}""");
        using var batched = new OipHandlerHarness(_repository.Root);
        using var plain = new OipHandlerHarness(TempModelRepository.SampleModels);
        var requests = Enumerable.Range(0, 6).Select(i => IrisRequest(rows: 1 + (i % 3), seed: i)).ToList();

        var replies = await Task.WhenAll(requests.Select(json => batched.InferAsync(model, json)));

        Assert.Equal([6L], RunsOf(model));
        for (var i = 0; i < requests.Count; i++)
        {
            AssertSameOutputs(await plain.InferAsync("iris", requests[i]), replies[i]);
        }
    }

    [Fact]
    public async Task WithNoQueueDelay_AnIdleModelRunsAtOnce_AndRequestsArrivingMeanwhileShareTheNextRun()
    {
        var model = AddIris("iris-busy", """{"max_queue_delay_microseconds": 0}""");
        using var batched = new OipHandlerHarness(_repository.Root);
        using var plain = new OipHandlerHarness(TempModelRepository.SampleModels);
        var requests = Enumerable.Range(0, 32).Select(i => IrisRequest(rows: 1 + (i % 4), seed: i)).ToList();

        var replies = await Task.WhenAll(requests.Select(json => Task.Run(() => batched.InferAsync(model, json))));

        Assert.Equal(32, RunsOf(model).Sum());
        for (var i = 0; i < requests.Count; i++)
        {
            AssertSameOutputs(await plain.InferAsync("iris", requests[i]), replies[i]);
        }
    }

    [Fact]
    public async Task TextsOfDifferentLengths_ArePaddedTogether_AndMatchTheirOwnRuns()
    {
        var model = AddMiniLm("minilm-shared", """{"max_queue_delay_microseconds": 1000000, "preferred_batch_size": [4]}""");
        using var batched = new OipHandlerHarness(_repository.Root);
        string[] texts = ["short", "a somewhat longer sentence about eating bread", "x", "the quick brown fox jumps over the lazy dog twice"];

        var replies = await Task.WhenAll(texts.Select(text => batched.InferAsync(model, TextRequest(text))));

        Assert.Equal([4L], RunsOf(model));
        for (var i = 0; i < texts.Length; i++)
        {
            var alone = await batched.InferAsync(model, TextRequest(texts[i]));
            var shared = Embedding(replies[i]);
            var own = Embedding(alone);
            Assert.Equal(384, shared.Length);
            for (var d = 0; d < shared.Length; d++)
            {
                Assert.Equal(own[d], shared[d], 1e-5);
            }
        }
    }

    [Fact]
    public async Task OneBadRequestInARun_FailsAlone()
    {
        var model = AddMiniLm("minilm-bad", """{"max_queue_delay_microseconds": 1000000, "preferred_batch_size": [3]}""");
        using var batched = new OipHandlerHarness(_repository.Root);

        var replies = await Task.WhenAll(
            batched.InferAsync(model, TextRequest("eating food")),
            batched.InferAsync(model, TextRequest("")),
            batched.InferAsync(model, TextRequest("a movie")));

        Assert.Equal([200, 400, 200], replies.Select(reply => reply.Status));
        Assert.Contains("empty", replies[1].Json.GetProperty("error").GetString(), StringComparison.Ordinal);
        Assert.Equal(3L, Assert.Single(RunsOf(model)));
    }

    [Fact]
    public async Task TruncatedTexts_AreCountedForTheCallerWhoseTextWasCut()
    {
        var model = AddMiniLm("minilm-cut", """{"max_queue_delay_microseconds": 1000000, "preferred_batch_size": [2]}""");
        using var batched = new OipHandlerHarness(_repository.Root);
        var longText = string.Join(' ', Enumerable.Repeat("word", 400));

        var replies = await Task.WhenAll(batched.InferAsync(model, TextRequest("short")), batched.InferAsync(model, TextRequest(longText)));

        Assert.Equal([2L], RunsOf(model));
        Assert.False(replies[0].Json.TryGetProperty("parameters", out var none) && none.TryGetProperty("truncated_texts", out _));
        Assert.Equal(1, replies[1].Json.GetProperty("parameters").GetProperty("truncated_texts").GetInt32());
    }

    [Fact]
    public async Task RequestsOfDifferentShapes_RunInSeparateGroups()
    {
        var model = AddMiniLm("minilm-raw", """{"max_queue_delay_microseconds": 300000, "preferred_batch_size": [2]}""");
        using var batched = new OipHandlerHarness(_repository.Root);

        var replies = await Task.WhenAll(
            batched.InferAsync(model, RawTokensRequest(5)),
            batched.InferAsync(model, RawTokensRequest(9)),
            batched.InferAsync(model, RawTokensRequest(5)));

        Assert.All(replies, reply => Assert.Equal(200, reply.Status));
        Assert.Equal([1L, 2L], RunsOf(model).Order());
        Assert.Equal([1, 9, 384], replies[1].Json.GetProperty("outputs")[0].GetProperty("shape").EnumerateArray().Select(d => d.GetInt32()));
    }

    [Fact]
    public async Task AFullQueue_Answers429WithRetryAfter_AndTheQueuedOnesStillRun()
    {
        var model = AddIris("iris-full", """{"max_queue_delay_microseconds": 500000, "max_queue_size": 2}""");
        using var batched = new OipHandlerHarness(_repository.Root);
        await batched.InferAsync(model, IrisRequest(1, 0));
        _runs.Clear();

        var first = batched.InferAsync(model, IrisRequest(1, 1));
        var second = batched.InferAsync(model, IrisRequest(1, 2));
        await WaitUntilAsync(() => QueueHolds(batched, model, 2));
        var refused = await batched.InferAsync(model, IrisRequest(1, 3));

        Assert.Equal(429, refused.Status);
        Assert.Equal("1", refused.Headers["Retry-After"]);
        Assert.Contains("max_queue_size", refused.Json.GetProperty("error").GetString(), StringComparison.Ordinal);
        Assert.Equal([200, 200], (await Task.WhenAll(first, second)).Select(reply => reply.Status));
    }

    [Fact]
    public async Task ACallerThatLeavesWhileQueued_IsWithdrawn_AndTheOthersRun()
    {
        var model = AddIris("iris-leave", """{"max_queue_delay_microseconds": 400000}""");
        using var batched = new OipHandlerHarness(_repository.Root);
        await batched.InferAsync(model, IrisRequest(1, 0));
        _runs.Clear();
        using var leaving = new CancellationTokenSource();

        var left = batched.SendAsync("POST", $"/v2/models/{model}/infer", System.Text.Encoding.UTF8.GetBytes(IrisRequest(2, 1)), cancellationToken: leaving.Token);
        var stays = batched.InferAsync(model, IrisRequest(1, 2));
        await WaitUntilAsync(() => QueueHolds(batched, model, 2));
        await leaving.CancelAsync();

        Assert.Equal(504, (await left).Status);
        Assert.Equal(200, (await stays).Status);
        Assert.Equal([1L], RunsOf(model));
    }

    [Fact]
    public async Task ADeadlineShorterThanTheQueueDelay_DoesNotWaitTheDelay()
    {
        var model = AddIris("iris-deadline", """{"max_queue_delay_microseconds": 1000000}""");
        using var host = new ModelHost(new LocalFolderModelStore(_repository.Root), new ModelHostOptions { DefaultIntraOpThreads = 1 });
        var runner = new InferenceRunner(host);
        using var request = IrisInput(1);
        var started = TimeProvider.System.GetTimestamp();

        using var result = await runner.RunAsync(model, null, request, null, CancellationToken.None, timeLeft: TimeSpan.FromMilliseconds(60));

        Assert.Equal(2, result.Outputs.Tensors.Count);
        // The queue delay is a second; half the 60 ms deadline bounds the wait. 800 ms leaves room for a loaded machine.
        Assert.InRange(TimeProvider.System.GetElapsedTime(started).TotalMilliseconds, 0, 800);
    }

    [Theory]
    [InlineData(0, """{}""", "max_batch_size of 2")]
    [InlineData(8, """{"preferred_batch_size": [16]}""", "preferred_batch_size")]
    [InlineData(8, """{"max_queue_delay_microseconds": -1}""", "max_queue_delay_microseconds")]
    [InlineData(8, """{"max_queue_size": 0}""", "max_queue_size")]
    public void ABadSection_RefusesTheManifestWithTheReason(int maxBatchSize, string section, string reason)
    {
        var json = $$"""{"max_batch_size": {{maxBatchSize}}, "dynamic_batching": {{section}}}""";

        var error = Assert.Throws<InferenceException>(() => ModelManifest.Parse(System.Text.Encoding.UTF8.GetBytes(json), "m/model.json"));

        Assert.Contains(reason, error.Message, StringComparison.Ordinal);
    }

    [Fact]
    public void AnUnknownField_RefusesTheManifest() =>
        Assert.Throws<InferenceException>(() => ModelManifest.Parse(
            """{"max_batch_size": 8, "dynamic_batching": {"max_queue_delay": 100}}"""u8.ToArray(), "m/model.json"));

    public void Dispose()
    {
        _listener.Dispose();
        _repository.Dispose();
    }

    private List<long> RunsOf(string model) => [.. _runs.Where(run => run.Model == model).Select(run => run.Requests)];

    private string AddIris(string name, string batching) => AddSample("iris", name, batching);

    private string AddMiniLm(string name, string batching) => AddSample("minilm", name, batching);

    private string AddSample(string sample, string name, string batching)
    {
        _repository.CopySample(sample, name, $$"""{"dynamic_batching": {{batching}}}""");
        return name;
    }

    private static bool QueueHolds(OipHandlerHarness harness, string model, int count)
    {
        using var lease = harness.Host.AcquireAsync(model, null, CancellationToken.None).GetAwaiter().GetResult();
        return lease.Batcher!.Waiting == count;
    }

    private static async Task WaitUntilAsync(Func<bool> condition)
    {
        for (var attempt = 0; attempt < 500 && !condition(); attempt++)
        {
            await Task.Delay(10);
        }

        Assert.True(condition(), "the requests never reached the queue");
    }

    private static string IrisRequest(int rows, int seed)
    {
        var values = Enumerable.Range(0, rows * 4).Select(i => (4.3 + ((i * 7 + seed * 13) % 36) / 10.0).ToString("0.0", CultureInfo.InvariantCulture));
        return $$"""{"inputs":[{"name":"Features","shape":[{{rows}},4],"datatype":"FP32","data":[{{string.Join(',', values)}}]}]}""";
    }

    private static InferRequest IrisInput(int rows) => new()
    {
        Inputs = [InputTensor.FromArray<float>("Features", TensorDataType.Fp32, [rows, 4], [.. Enumerable.Repeat(5.1f, rows * 4)])],
    };

    private static string TextRequest(string text) =>
        $$"""{"inputs":[{"name":"text","shape":[1],"datatype":"BYTES","data":[{{JsonSerializer.Serialize(text)}}]}]}""";

    private static string RawTokensRequest(int length)
    {
        var ids = string.Join(',', Enumerable.Range(0, length).Select(i => i == 0 ? 101 : i == length - 1 ? 102 : 2000 + i));
        var ones = string.Join(',', Enumerable.Repeat(1, length));
        var zeros = string.Join(',', Enumerable.Repeat(0, length));
        return $$"""
            {"inputs":[
              {"name":"input_ids","shape":[1,{{length}}],"datatype":"INT64","data":[{{ids}}]},
              {"name":"attention_mask","shape":[1,{{length}}],"datatype":"INT64","data":[{{ones}}]},
              {"name":"token_type_ids","shape":[1,{{length}}],"datatype":"INT64","data":[{{zeros}}]}]}
            """;
    }

    /// <summary>
    /// Same outputs, shapes and labels; numbers equal up to float rounding, since ONNX Runtime's kernels may sum in
    /// another order for a batch of another size (seen: 2.0384005E-12 alone, 2.0384122E-12 in a batch).
    /// </summary>
    private static void AssertSameOutputs(OipReply expected, OipReply actual)
    {
        Assert.Equal(200, actual.Status);
        var want = expected.Json.GetProperty("outputs").EnumerateArray().ToList();
        var got = actual.Json.GetProperty("outputs").EnumerateArray().ToList();
        Assert.Equal(want.Select(o => o.GetProperty("name").GetString()), got.Select(o => o.GetProperty("name").GetString()));
        foreach (var (w, g) in want.Zip(got))
        {
            Assert.Equal(w.GetProperty("shape").GetRawText(), g.GetProperty("shape").GetRawText());
            foreach (var (a, b) in w.GetProperty("data").EnumerateArray().Zip(g.GetProperty("data").EnumerateArray()))
            {
                if (a.ValueKind == JsonValueKind.String)
                {
                    Assert.Equal(a.GetString(), b.GetString());
                }
                else
                {
                    Assert.Equal(a.GetDouble(), b.GetDouble(), (x, y) => Math.Abs(x - y) <= 1e-9 + (1e-4 * Math.Abs(x)));
                }
            }
        }
    }

    private static float[] Embedding(OipReply reply) =>
        [.. reply.Json.GetProperty("outputs")[0].GetProperty("data").EnumerateArray().Select(value => value.GetSingle())];
}
