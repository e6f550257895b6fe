using System.Text;
using Microsoft.Extensions.Logging;
using Microsoft.Extensions.Logging.Testing;
using Microsoft.Extensions.Time.Testing;
using Serverless.Inference.Hosting;
using Serverless.Inference.Protocol;
using Serverless.Inference.Repository;
using Serverless.Inference.Tests.Support;

namespace Serverless.Inference.Tests.Hostile;

/// <summary>
/// What an error body may tell a stranger: what went wrong, in words they can act on, and an error id; never the
/// runtime's source paths, local folders or storage addresses, which go to the log under that id.
/// </summary>
public sealed class HostileErrorBodyTests : IDisposable
{
    private readonly TempModelRepository _repository = new TempModelRepository()
        .Add("reshape", OnnxTestModels.FourToTwoByTwo())
        .Add("broken", "not an onnx model"u8.ToArray());

    private readonly FakeLogger<OpenInferenceHandler> _log = new();
    private readonly FakeTimeProvider _time = new();
    private readonly CountingStore _store;
    private readonly ModelHost _host;
    private readonly OpenInferenceHandler _handler;

    public HostileErrorBodyTests()
    {
        _store = new CountingStore(new LocalFolderModelStore(_repository.Root));
        _host = new ModelHost(_store, new ModelHostOptions { DefaultIntraOpThreads = 1 }, _time);
        _handler = new OpenInferenceHandler(_host, new RequestLimits(), _log, _time);
    }

    public void Dispose()
    {
        _host.Dispose();
        _repository.Dispose();
    }

    [Fact]
    public async Task Infer_RuntimeFailsInsideTheRun_400KeepsTheReasonDropsTheRuntimesInternalsAndLogsThemUnderTheId()
    {
        var reply = await SendAsync("POST", "/v2/models/reshape/infer", """{"inputs":[{"name":"x","datatype":"FP32","shape":[2,4],"data":[1,2,3,4,5,6,7,8]}]}""");

        reply.AssertError(400, "the model could not run on this input: ", "cannot be reshaped", "(error id ");
        Assert.DoesNotContain("onnxruntime", reply.Error, StringComparison.OrdinalIgnoreCase);
        Assert.DoesNotContain(".cc:", reply.Error, StringComparison.Ordinal);
        Assert.DoesNotContain("ErrorCode", reply.Error, StringComparison.Ordinal);
        var errorId = ErrorId(reply.Error);
        var logged = Assert.Single(_log.Collector.GetSnapshot(), record => record.Message.Contains(errorId, StringComparison.Ordinal));
        Assert.Contains("ErrorCode", logged.Message, StringComparison.Ordinal);
        Assert.Contains("reshape_helper", logged.Message, StringComparison.Ordinal);
    }

    [Fact]
    public async Task ModelReady_ModelThatCannotLoad_503WithoutLocalPaths()
    {
        var reply = await SendAsync("GET", "/v2/models/broken/ready");

        reply.AssertError(503, "model 'broken' version 1 failed to load (error id ");
        Assert.DoesNotContain(_repository.Root, reply.JsonText, StringComparison.Ordinal);
        Assert.DoesNotContain("/", reply.Error, StringComparison.Ordinal);
        var logged = Assert.Single(_log.Collector.GetSnapshot(), record => record.Message.Contains(ErrorId(reply.Error), StringComparison.Ordinal));
        Assert.Equal(LogLevel.Warning, logged.Level);
    }

    [Fact]
    public async Task Ready_RepositoryFolderMissing_503WithoutThePath()
    {
        Directory.Delete(_repository.Root, recursive: true);

        var reply = await SendAsync("GET", "/v2/health/ready");

        reply.AssertError(503, "the model repository folder does not exist (error id ");
        Assert.DoesNotContain(_repository.Root, reply.JsonText, StringComparison.Ordinal);
        Assert.Contains(_log.Collector.GetSnapshot(), record => record.Message.Contains(_repository.Root, StringComparison.Ordinal));
    }

    [Fact]
    public async Task Ready_CalledOftenAndAtOnce_AsksTheStoreAtMostOncePerInterval()
    {
        await Task.WhenAll(Enumerable.Range(0, 50).Select(_ => SendAsync("GET", "/v2/health/ready")));
        for (var i = 0; i < 50; i++)
        {
            (await SendAsync("GET", "/v2/health/ready")).AssertOk();
        }

        Assert.Equal(1, _store.Listings);

        _time.Advance(TimeSpan.FromSeconds(4.9));
        (await SendAsync("GET", "/v2/health/ready")).AssertOk();
        Assert.Equal(1, _store.Listings);

        _time.Advance(TimeSpan.FromSeconds(0.1));
        (await SendAsync("GET", "/v2/health/ready")).AssertOk();
        Assert.Equal(2, _store.Listings);
    }

    [Fact]
    public async Task Ready_RepositoryEmptiedAndRefilled_AnswerFollowsWithinTheInterval()
    {
        (await SendAsync("GET", "/v2/health/ready")).AssertOk();
        foreach (var model in Directory.EnumerateDirectories(_repository.Root))
        {
            File.Delete(Path.Combine(model, "model.json"));
        }

        (await SendAsync("GET", "/v2/health/ready")).AssertOk();
        _time.Advance(TimeSpan.FromSeconds(5));
        (await SendAsync("GET", "/v2/health/ready")).AssertError(503, "the model repository holds no models (error id ");
    }

    private static string ErrorId(string error)
    {
        var start = error.IndexOf("(error id ", StringComparison.Ordinal) + "(error id ".Length;
        return error[start..error.IndexOf(')', start)];
    }

    private async Task<OipReply> SendAsync(string method, string path, string? json = null)
    {
        var body = Encoding.UTF8.GetBytes(json ?? "");
        using var stream = new MemoryStream(body, writable: false);
        using var response = await _handler.HandleAsync(new OipHttpRequest(method, path, _ => null, stream, body.Length), CancellationToken.None);
        return new OipReply(response.StatusCode, response.ContentType, new Dictionary<string, string>(), response.Body.ToArray());
    }

    private sealed class CountingStore(IModelStore inner) : IModelStore
    {
        private int _listings;

        public int Listings => Volatile.Read(ref _listings);

        public string Description => inner.Description;

        public Task<IReadOnlyList<string>> ListModelsAsync(CancellationToken cancellationToken)
        {
            Interlocked.Increment(ref _listings);
            return inner.ListModelsAsync(cancellationToken);
        }

        public Task<IReadOnlyList<string>> ListVersionsAsync(string model, CancellationToken cancellationToken) => inner.ListVersionsAsync(model, cancellationToken);

        public Task<StoredFile?> StatAsync(ModelFilePath path, CancellationToken cancellationToken) => inner.StatAsync(path, cancellationToken);

        public Task<Stream> OpenReadAsync(ModelFilePath path, CancellationToken cancellationToken) => inner.OpenReadAsync(path, cancellationToken);
    }
}
