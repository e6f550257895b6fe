using Microsoft.Azure.Functions.Worker;
using Serverless.Functions.Azure.Batch;

namespace Serverless.Functions.Azure.Tests.Batch;

/// <summary>The timer function over an Azurite of its own (a sweep takes every old file it finds).</summary>
public sealed class SweepIncomingTests(Azurite azurite) : IClassFixture<Azurite>, IAsyncLifetime, IDisposable
{
    private readonly AzureApp _app = new(azurite.ConnectionString, new Dictionary<string, string?> { ["Inference:SweepAfterMinutes"] = "30" });

    public async Task InitializeAsync() => await Iris.UploadAsync(azurite.CreateClient());

    public Task DisposeAsync() => Task.CompletedTask;

    public void Dispose() => _app.Dispose();

    [Fact]
    public async Task RunAsync_FileWhoseEventNeverCame_ScoredOnceItIsOlderThanTheSetting()
    {
        var storage = azurite.CreateClient();
        await Blobs.PutAsync(storage, "incoming/iris/no-event.csv", $"{Iris.Header}\n{Iris.Csv(2)}\n");
        var written = DateTimeOffset.UtcNow;
        var sweep = _app.Create<SweepIncoming>();

        _app.Time.SetUtcNow(Later(written.AddMinutes(20)));
        await sweep.RunAsync(new TimerInfo(), CancellationToken.None);
        var early = await Blobs.ListAsync(storage, "outgoing");
        _app.Time.SetUtcNow(Later(written.AddMinutes(31)));
        await sweep.RunAsync(new TimerInfo(), CancellationToken.None);

        Assert.Empty(early);
        Assert.Equal(2, (await Blobs.ListAsync(storage, "outgoing", "iris/no-event.csv.")).Count);
    }

    /// <summary>The fake clock only moves forward.</summary>
    private DateTimeOffset Later(DateTimeOffset wanted) => wanted > _app.Time.GetUtcNow() ? wanted : throw new InvalidOperationException("the fake clock starts after the blob was written");
}
