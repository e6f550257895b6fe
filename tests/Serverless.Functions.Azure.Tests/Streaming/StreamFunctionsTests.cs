using System.Globalization;
using System.Text;
using System.Text.Json;
using Azure.Storage.Blobs;
using Azure.Storage.Blobs.Models;
using Azure.Storage.Queues;
using Microsoft.Extensions.DependencyInjection;
using Serverless.Functions.Azure.Hosting;
using Serverless.Functions.Azure.Http;
using Serverless.Functions.Azure.Storage;
using Serverless.Inference.Batch;

namespace Serverless.Functions.Azure.Tests.Streaming;

/// <summary>
/// The stream webhook end to end on Azurite's blob and queue services: Event Grid deliveries (CloudEvents 1.0 batches
/// and single events, the Event Grid schema) through <see cref="StreamFunctions"/>, as the worker runs it, into the real
/// <c>predictions</c>, <c>stream-state</c> and <c>stream-events</c> containers and the <c>stream-alerts</c> queue. Each
/// test scores with a model of its own name (the iris model with a streaming section), so tests sharing the account
/// never see each other's objects.
/// </summary>
public sealed class StreamFunctionsTests(AzuriteWithQueues azurite) : IClassFixture<AzuriteWithQueues>, IAsyncLifetime, IDisposable
{
    private const string BatchType = "application/cloudevents-batch+json; charset=utf-8";

    private readonly string _model = "iris-" + Guid.NewGuid().ToString("N")[..8];
    private readonly List<AzureApp> _apps = [];

    private BlobServiceClient Storage => azurite.CreateClient();

    private QueueClient Alerts => azurite.CreateQueueClient().GetQueueClient(AzureContract.StreamAlertsQueue);

    public async Task InitializeAsync()
    {
        // Two records per run, so a batch of four commits in two objects and a failure can fall between them; an
        // alert on every virginica.
        var manifest = JsonNode(Iris.Manifest);
        manifest["streaming"] = System.Text.Json.Nodes.JsonNode.Parse("""
            {"max_records_per_run": 2, "alerts": [{"name": "virginica", "output": "PredictedLabel.output", "in": ["virginica"]}]}
            """);
        var models = Storage.GetBlobContainerClient(AzureContract.ModelsContainer);
        await models.CreateIfNotExistsAsync();
        await models.GetBlobClient($"{_model}/model.json").UploadAsync(new BinaryData(manifest.ToJsonString()), overwrite: true);
        await models.GetBlobClient($"{_model}/1/model.onnx").UploadAsync(new BinaryData(Iris.Onnx), overwrite: true);
        await Alerts.CreateIfNotExistsAsync();
    }

    public Task DisposeAsync() => Task.CompletedTask;

    public void Dispose()
    {
        foreach (var app in _apps)
        {
            app.Dispose();
        }
    }

    [Fact]
    public async Task Batch_EventsOutOfTimeOrder_ScoredInTimeOrderOneLineEach()
    {
        var app = App();
        var events = Enumerable.Range(0, 4).Select(i => CloudEvent($"e{i}", "sensor-1", i, Iris.Inputs[i % 3])).Reverse().ToList();

        var reply = await SendAsync(app, "POST", Batch(events));

        Assert.Equal(200, reply.Status);
        Assert.Equal((4, 4, 0, 0), Counts(reply));
        var lines = await PredictionLinesAsync();
        Assert.Equal(["e0", "e1", "e2", "e3"], lines.Select(l => l.GetProperty("position").GetString()));
        Assert.All(lines, l => Assert.Equal("sensor-1", l.GetProperty("key").GetString()));
        Assert.Equal([Iris.Labels[0], Iris.Labels[1], Iris.Labels[2], Iris.Labels[0]], lines.Select(Label));
    }

    [Fact]
    public async Task SingleEvent_StructuredMode_Scored()
    {
        var app = App();

        var reply = await SendAsync(app, "POST", CloudEvent("only", "sensor-2", 0, Iris.Inputs[1]), "application/cloudevents+json; charset=utf-8");

        Assert.Equal(200, reply.Status);
        var line = Assert.Single(await PredictionLinesAsync());
        Assert.Equal(("only", "sensor-2", Iris.Labels[1]), (line.GetProperty("position").GetString(), line.GetProperty("key").GetString(), Label(line)));
    }

    [Fact]
    public async Task Batch_PartitionKeyFromAConfiguredExtensionAttribute_KeysTheLines()
    {
        var app = App(new Dictionary<string, string?> { ["Inference:StreamPartitionAttribute"] = "deviceid" });
        var withDevice = CloudEvent("a", "subject-a", 0, Iris.Inputs[0], extra: "\"deviceid\":\"pump-7\",");
        var withoutDevice = CloudEvent("b", "subject-b", 1, Iris.Inputs[1]);

        Assert.Equal(200, (await SendAsync(app, "POST", $"[{withDevice},{withoutDevice}]")).Status);

        // An event without the attribute is keyed by its source.
        Assert.Equal(["pump-7", "/sensors"], (await PredictionLinesAsync()).Select(l => l.GetProperty("key").GetString()));
    }

    [Fact]
    public async Task Options_AbuseProtectionHandshake_AllowsTheOriginEveryTime()
    {
        var app = App();
        var headers = new Dictionary<string, string> { ["WebHook-Request-Origin"] = "eventgrid.azure.net", ["WebHook-Request-Rate"] = "120" };

        foreach (var attempt in new[] { 1, 2 })
        {
            var reply = await SendAsync(app, "OPTIONS", null, headers: headers);

            Assert.Equal(200, reply.Status);
            Assert.Equal("eventgrid.azure.net", reply.Headers["WebHook-Allowed-Origin"].ToString());
            Assert.Equal("*", reply.Headers["WebHook-Allowed-Rate"].ToString());
            Assert.Equal("POST, OPTIONS", reply.Headers.Allow.ToString());
        }

        Assert.Empty(await PredictionLinesAsync());
    }

    [Fact]
    public async Task Options_WithoutRequestOrigin_400()
    {
        var reply = await SendAsync(App(), "OPTIONS", null);

        Assert.Equal(400, reply.Status);
        Assert.Contains("WebHook-Request-Origin", reply.Json.GetProperty("error").GetString(), StringComparison.Ordinal);
    }

    [Fact]
    public async Task EventGridSchema_SubscriptionValidation_AnswersTheCodeEveryTimeAndStoresNothing()
    {
        var app = App();
        const string Validation = """
            [{"id":"2d1781af-3a4c-4d7c-bd0c-e34b19da4e66","topic":"/subscriptions/x/resourceGroups/rg/providers/Microsoft.EventGrid/topics/t",
              "subject":"","data":{"validationCode":"512d38b6-c7b8-40c8-89fe-f46f9e9622b6","validationUrl":"https://rp-eastus2.eventgrid.azure.net/x"},
              "eventType":"Microsoft.EventGrid.SubscriptionValidationEvent","eventTime":"2026-11-28T00:00:00Z","metadataVersion":"1","dataVersion":"1"}]
            """;
        var header = new Dictionary<string, string> { ["aeg-event-type"] = "SubscriptionValidation" };

        var first = await SendAsync(app, "POST", Validation, "application/json", header);
        var replay = await SendAsync(app, "POST", Validation, "application/json", header);

        Assert.Equal((200, 200), (first.Status, replay.Status));
        Assert.Equal("""{"validationResponse":"512d38b6-c7b8-40c8-89fe-f46f9e9622b6"}""", first.Http.Body);
        Assert.Equal(first.Http.Body, replay.Http.Body);
        Assert.Empty(await PredictionLinesAsync());
    }

    [Fact]
    public async Task EventGridSchema_Notification_ScoredWithSubjectAsKey()
    {
        var events = string.Join(',', Enumerable.Range(0, 2).Select(i => $$"""
            {"id":"g{{i}}","topic":"/t","subject":"machine-{{i}}","eventType":"Telemetry","eventTime":"2026-11-28T00:00:0{{i}}Z",
             "dataVersion":"1","data":[{{string.Join(',', Iris.Inputs[i].Select(v => v.ToString(CultureInfo.InvariantCulture)))}}]}
            """));

        var reply = await SendAsync(App(), "POST", $"[{events}]", "application/json", new Dictionary<string, string> { ["aeg-event-type"] = "Notification" });

        Assert.Equal(200, reply.Status);
        var lines = await PredictionLinesAsync();
        Assert.Equal([("g0", "machine-0"), ("g1", "machine-1")], lines.Select(l => (l.GetProperty("position").GetString(), l.GetProperty("key").GetString())));
        Assert.Equal(Iris.Labels.Take(2), lines.Select(Label));
    }

    [Fact]
    public async Task Redelivery_SameBatch_NoDuplicatePredictionsOrAlerts()
    {
        var app = App();
        var batch = Batch(Enumerable.Range(0, 4).Select(i => CloudEvent($"r{i}", "s", i, Iris.Inputs[VirginicaRow])));

        var first = await SendAsync(app, "POST", batch);
        var objects = await PredictionObjectsAsync();
        var again = await SendAsync(app, "POST", batch);

        Assert.Equal((200, 200), (first.Status, again.Status));
        Assert.Equal((4, 0, 0, 4), Counts(again));
        Assert.Equal(objects, await PredictionObjectsAsync());
        Assert.Equal(4, (await PredictionLinesAsync()).Count);
        var alerts = await AlertsAsync();
        Assert.Equal(["r0", "r1", "r2", "r3"], alerts.Select(a => a.GetProperty("position").GetString()).Order(StringComparer.Ordinal));
        Assert.Equal(4, alerts.Select(a => a.GetProperty("id").GetString()).Distinct().Count());
    }

    /// <summary>Event Grid may group a retry differently: events already committed are skipped by id, the rest scored once.</summary>
    [Fact]
    public async Task Redelivery_Regrouped_EachEventScoredAndAlertedOnce()
    {
        var app = App();
        var events = Enumerable.Range(0, 5).Select(i => CloudEvent($"g{i}", "s", i, Iris.Inputs[VirginicaRow])).ToList();

        var first = await SendAsync(app, "POST", Batch(events.Take(3)));
        var regrouped = await SendAsync(app, "POST", Batch(events.Skip(1)));

        Assert.Equal((200, 200), (first.Status, regrouped.Status));
        Assert.Equal((4, 2, 0, 2), Counts(regrouped));
        Assert.Equal(["g0", "g1", "g2", "g3", "g4"], (await PredictionLinesAsync()).Select(l => l.GetProperty("position").GetString()).Order(StringComparer.Ordinal));
        Assert.Equal(["g0", "g1", "g2", "g3", "g4"], (await AlertsAsync()).Select(a => a.GetProperty("position").GetString()).Order(StringComparer.Ordinal));
    }

    [Fact]
    public async Task Batch_SameIdTwice_ScoredOnce()
    {
        var reply = await SendAsync(App(), "POST", Batch([CloudEvent("twice", "s", 0, Iris.Inputs[0]), CloudEvent("twice", "s", 0, Iris.Inputs[0])]));

        Assert.Equal(200, reply.Status);
        Assert.Equal((2, 1, 0, 1), Counts(reply));
        Assert.Equal(["twice"], (await PredictionLinesAsync()).Select(l => l.GetProperty("position").GetString()));
    }

    public static TheoryData<string, string> NotCloudEvents => new()
    {
        { """[{"specversion":"0.3","id":"a","source":"/s","type":"t","data":[1,2,3,4]}]""", "0.3" },
        { """[{"specversion":"1.0","source":"/s","type":"t","data":[1,2,3,4]}]""", "id" },
        { """[{"specversion":"1.0","id":"a","type":"t","data":[1,2,3,4]}]""", "source" },
        { """[{"specversion":"1.0","id":"a","source":"/s","type":"t","data":[1]},{"id":"b","source":"/s","type":"t"}]""", "event 1" },
        { """{not json""", "not JSON" },
        { "42", "number" },
        { "[]", "no events" },
        { """[{"hello":"world"}]""", "neither" },
    };

    [Theory]
    [MemberData(nameof(NotCloudEvents))]
    public async Task Batch_NotCloudEvents_400NamingTheProblemAndNothingScored(string body, string named)
    {
        var reply = await SendAsync(App(), "POST", body);

        Assert.Equal(400, reply.Status);
        Assert.Contains(named, reply.Json.GetProperty("error").GetString(), StringComparison.OrdinalIgnoreCase);
        Assert.Empty(await PredictionLinesAsync());
    }

    [Fact]
    public async Task Batch_OverTheLimit_413WithoutReadingIt()
    {
        var app = App();
        var data = new string('1', StreamFunctions.MaxBodyBytes);
        var body = $$"""[{"specversion":"1.0","id":"big","source":"/s","type":"t","datacontenttype":"text/plain","data":"{{data}}"}]""";

        var declared = await SendAsync(app, "POST", body);
        var chunked = await SendAsync(app, "POST", body, undeclaredLength: true);

        Assert.Equal((413, 413), (declared.Status, chunked.Status));
        Assert.Equal(0, declared.BodyRead);
        Assert.Contains(StreamFunctions.MaxBodyBytes.ToString(CultureInfo.InvariantCulture), chunked.Json.GetProperty("error").GetString(), StringComparison.Ordinal);
        // Read as far as the limit and one byte more, no further.
        Assert.Equal(StreamFunctions.MaxBodyBytes + 1, chunked.BodyRead);
    }

    [Fact]
    public async Task Batch_BadDataInOneEvent_AnErrorLineInOrderTheRestScored()
    {
        var events = new[]
        {
            CloudEvent("d0", "s", 0, Iris.Inputs[0]),
            """{"specversion":"1.0","id":"d1","source":"/sensors","type":"t","time":"2026-11-28T00:00:01Z","datacontenttype":"application/json","data_base64":"e25vdCBqc29u"}""",
            """{"specversion":"1.0","id":"d2","source":"/sensors","type":"t","time":"2026-11-28T00:00:02Z","data_base64":"not base64!"}""",
            CloudEvent("d3", "s", 3, Iris.Inputs[2]),
        };

        var reply = await SendAsync(App(), "POST", Batch(events));

        Assert.Equal(200, reply.Status);
        Assert.Equal((4, 4, 2, 0), Counts(reply));
        var lines = await PredictionLinesAsync();
        Assert.Equal(["d0", "d1", "d2", "d3"], lines.Select(l => l.GetProperty("position").GetString()));
        Assert.Equal([false, true, true, false], lines.Select(l => l.TryGetProperty("error", out _)));
        Assert.Contains("base64", lines[2].GetProperty("error").GetString(), StringComparison.Ordinal);
        Assert.Equal([Iris.Labels[0], Iris.Labels[2]], new[] { lines[0], lines[3] }.Select(Label));
    }

    /// <summary>
    /// The store fails on the second run's predictions: the first run stays committed, Event Grid is told to retry, and
    /// the redelivery scores only the rest, once.
    /// </summary>
    [Fact]
    public async Task StoreFailureMidBatch_503WithRetryAfterThenTheRedeliveryCompletesWithoutDuplicates()
    {
        var app = App(configure: services => services.AddSingleton<IBatchStore>(provider =>
            new WatchedStore(new BlobBatchStore(provider.GetRequiredService<InferenceStorage>().Service))));
        var store = (WatchedStore)app.Services.GetRequiredService<IBatchStore>();
        var batch = Batch(Enumerable.Range(0, 4).Select(i => CloudEvent($"f{i}", "s", i, Iris.Inputs[VirginicaRow])));
        var predictionCreates = 0;
        store.BeforeCreate = key => key.StartsWith($"{AzureContract.PredictionsContainer}/", StringComparison.Ordinal) && ++predictionCreates == 2
            ? throw new BatchStoreException("could not write: 503 ServerBusy")
            : Task.CompletedTask;

        var failed = await SendAsync(app, "POST", batch);
        var committedFirst = await PredictionLinesAsync();
        var alertsFirst = await AlertsAsync();
        var retried = await SendAsync(app, "POST", batch);

        Assert.Equal(503, failed.Status);
        Assert.Equal(StreamFunctions.RetryAfterSeconds.ToString(CultureInfo.InvariantCulture), failed.RetryAfter);
        Assert.Equal(["f0", "f1"], committedFirst.Select(l => l.GetProperty("position").GetString()));
        Assert.Equal(200, retried.Status);
        Assert.Equal((4, 2, 0, 2), Counts(retried));
        Assert.Equal(["f0", "f1", "f2", "f3"], (await PredictionLinesAsync()).Select(l => l.GetProperty("position").GetString()).Order(StringComparer.Ordinal));
        Assert.Equal(["f0", "f1"], alertsFirst.Select(a => a.GetProperty("position").GetString()).Order(StringComparer.Ordinal));
        Assert.Equal(["f0", "f1", "f2", "f3"], (await AlertsAsync()).Select(a => a.GetProperty("position").GetString()).Order(StringComparer.Ordinal));
    }

    [Theory]
    [InlineData("../etc")]
    [InlineData("a b")]
    [InlineData("")]
    public async Task Post_InvalidModelName_400BeforeAnyStorage(string model)
    {
        var reply = await SendAsync(App(), "POST", Batch([CloudEvent("x", "s", 0, Iris.Inputs[0])]), model: model);

        Assert.Equal(400, reply.Status);
        Assert.Contains("invalid model name", reply.Json.GetProperty("error").GetString(), StringComparison.Ordinal);
    }

    /// <summary>What the webhook answered, the headers it set and how much of the body it read.</summary>
    private sealed record StreamReply(HttpReply Http, Microsoft.AspNetCore.Http.IHeaderDictionary Headers, long BodyRead)
    {
        public int Status => Http.Status;

        public JsonElement Json => Http.Json;

        public string RetryAfter => Headers.RetryAfter.ToString();
    }

    /// <summary>A request to <c>/v2/streams/{model}</c> through the function class, as the worker hands it over.</summary>
    private async Task<StreamReply> SendAsync(AzureApp app, string method, string? body, string contentType = BatchType, IReadOnlyDictionary<string, string>? headers = null, string? model = null, bool undeclaredLength = false)
    {
        model ??= _model;
        var context = HttpReply.NewContext(method, $"/v2/streams/{model}", body);
        if (body is not null)
        {
            context.Request.ContentType = contentType;
        }

        if (undeclaredLength)
        {
            context.Request.ContentLength = null;
        }

        foreach (var (name, value) in headers ?? new Dictionary<string, string>())
        {
            context.Request.Headers[name] = value;
        }

        await app.Create<StreamFunctions>().RunAsync(context.Request, model, CancellationToken.None);
        return new StreamReply(HttpReply.From(context), context.Response.Headers, context.Request.Body.Position);
    }

    private AzureApp App(IReadOnlyDictionary<string, string?>? settings = null, Action<IServiceCollection>? configure = null)
    {
        var app = new AzureApp(azurite.ConnectionString, settings, configure);
        _apps.Add(app);
        return app;
    }

    /// <summary>The sample's virginica row: it raises the alert.</summary>
    private static int VirginicaRow => Iris.Labels.ToList().IndexOf("virginica");

    private static string CloudEvent(string id, string subject, int second, float[] features, string extra = "") =>
        $$"""{"specversion":"1.0","id":"{{id}}","source":"/sensors","type":"com.example.reading","subject":"{{subject}}",{{extra}}"time":"2026-11-28T00:00:{{second:D2}}Z","datacontenttype":"application/json","data":[{{string.Join(',', features.Select(v => v.ToString(CultureInfo.InvariantCulture)))}}]}""";

    private static string Batch(IEnumerable<string> events) => $"[{string.Join(',', events)}]";

    private static System.Text.Json.Nodes.JsonObject JsonNode(byte[] json) => System.Text.Json.Nodes.JsonNode.Parse(json)!.AsObject();

    private static (int Events, int Committed, int RecordErrors, int Duplicates) Counts(StreamReply reply) =>
        (reply.Json.GetProperty("events").GetInt32(), reply.Json.GetProperty("committed").GetInt32(), reply.Json.GetProperty("record_errors").GetInt32(), reply.Json.GetProperty("duplicates").GetInt32());

    private static string? Label(JsonElement line) => line.GetProperty("outputs").GetProperty("PredictedLabel.output").EnumerateArray().Single().GetString();

    private async Task<List<string>> PredictionObjectsAsync()
    {
        var container = Storage.GetBlobContainerClient(AzureContract.PredictionsContainer);
        if (!await container.ExistsAsync())
        {
            return [];
        }

        var names = new List<string>();
        await foreach (var blob in container.GetBlobsAsync(new GetBlobsOptions { Prefix = _model + "/" }))
        {
            names.Add(blob.Name);
        }

        return names;
    }

    /// <summary>Every prediction line of this test's model, objects in name order (the name starts with the UTC hour and the first position).</summary>
    private async Task<List<JsonElement>> PredictionLinesAsync()
    {
        var lines = new List<JsonElement>();
        foreach (var name in (await PredictionObjectsAsync()).Order(StringComparer.Ordinal))
        {
            var content = (await Storage.GetBlobContainerClient(AzureContract.PredictionsContainer).GetBlobClient(name).DownloadContentAsync()).Value.Content.ToString();
            lines.AddRange(content.Split('\n', StringSplitOptions.RemoveEmptyEntries).Select(line => JsonDocument.Parse(line).RootElement.Clone()));
        }

        return lines;
    }

    /// <summary>
    /// This test's alerts on the real queue, base64-decoded as a queue trigger decodes them. Peeked, so reading them
    /// changes nothing: the whole class raises fewer alerts than one peek returns (32).
    /// </summary>
    private async Task<List<JsonElement>> AlertsAsync()
    {
        var raw = new QueueClient(azurite.ConnectionString, AzureContract.StreamAlertsQueue, new QueueClientOptions(QueueClientOptions.ServiceVersion.V2026_06_06));
        var messages = (await raw.PeekMessagesAsync(32)).Value;
        Assert.True(messages.Length < 32, "more alerts on the queue than one peek returns");
        return [.. messages
            .Select(message => JsonDocument.Parse(Convert.FromBase64String(message.MessageText)).RootElement.Clone())
            .Where(alert => alert.GetProperty("model").GetString() == _model)];
    }
}
