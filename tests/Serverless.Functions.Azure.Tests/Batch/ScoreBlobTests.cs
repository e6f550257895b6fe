using System.Text.Json;
using Microsoft.Azure.Functions.Worker;
using Microsoft.Extensions.DependencyInjection;
using Serverless.Functions.Azure.Batch;
using Serverless.Inference.Batch;

namespace Serverless.Functions.Azure.Tests.Batch;

/// <summary>The blob-triggered batch function against a real Azurite, called with the trigger's real BlobClient.</summary>
public sealed class ScoreBlobTests(Azurite azurite) : IClassFixture<Azurite>, IAsyncLifetime, IDisposable
{
    private readonly AzureApp _app = new(azurite.ConnectionString);

    public async Task InitializeAsync() => await Iris.UploadAsync(azurite.CreateClient());

    public Task DisposeAsync() => Task.CompletedTask;

    public void Dispose() => _app.Dispose();

    [Fact]
    public async Task RunAsync_CsvInIncoming_ResultsAndSummaryInOutgoing()
    {
        var storage = azurite.CreateClient();
        var csv = $"id,{Iris.Header}\n" + string.Concat(Enumerable.Range(0, Iris.Inputs.Count).Select(i => $"{i},{Iris.Csv(i)}\n")) + "bad,1,2,3\n";
        var blob = await Blobs.PutAsync(storage, "incoming/iris/x.csv", csv);
        var etag = (await blob.GetPropertiesAsync()).Value.ETag.ToString();

        await _app.ScoreAsync(blob);

        var outgoing = await Blobs.ListAsync(storage, "outgoing", "iris/x.csv.");
        Assert.Equal(2, outgoing.Count);
        var results = Assert.Single(outgoing, k => k.EndsWith(".results.csv", StringComparison.Ordinal));
        var summaryKey = Assert.Single(outgoing, k => k.EndsWith(".summary.json", StringComparison.Ordinal));
        var lines = (await Blobs.ReadTextAsync(storage, results)).Split('\n', StringSplitOptions.RemoveEmptyEntries);
        Assert.Equal($"id,{Iris.Header},Score.output[0],Score.output[1],Score.output[2],PredictedLabel.output,error", lines[0]);
        Assert.Equal(Iris.Labels, lines[1..^1].Select(l => l.Split(',')[^2]));
        Assert.EndsWith("the row has 4 fields but the header has 5", lines[^1], StringComparison.Ordinal);

        using var summary = JsonDocument.Parse(await Blobs.ReadTextAsync(storage, summaryKey));
        var json = summary.RootElement;
        Assert.Equal("incoming/iris/x.csv", json.GetProperty("input").GetString());
        Assert.Equal(etag, json.GetProperty("input_identity").GetString());
        Assert.Equal(results, json.GetProperty("output").GetString());
        Assert.Equal((4L, 3L, 1L), (json.GetProperty("rows_in").GetInt64(), json.GetProperty("rows_ok").GetInt64(), json.GetProperty("rows_failed").GetInt64()));
        Assert.True(await blob.ExistsAsync());
        Assert.Empty(await Blobs.ListAsync(storage, "failed", "iris/x.csv"));
    }

    [Fact]
    public async Task RunAsync_SameEventTwice_OneResult()
    {
        var storage = azurite.CreateClient();
        var blob = await Blobs.PutAsync(storage, "incoming/iris/twice.csv", $"{Iris.Header}\n{Iris.Csv(0)}\n");

        await _app.ScoreAsync(blob);
        var first = await Blobs.ListAsync(storage, "outgoing", "iris/twice.csv.");
        var firstResults = await Blobs.ReadTextAsync(storage, first[0]);
        await _app.ScoreAsync(blob);

        Assert.Equal(2, first.Count);
        Assert.Equal(first, await Blobs.ListAsync(storage, "outgoing", "iris/twice.csv."));
        Assert.Equal(firstResults, await Blobs.ReadTextAsync(storage, first[0]));
    }

    [Fact]
    public async Task RunAsync_SameEventConcurrently_ExactlyOneResultsBlob()
    {
        var storage = azurite.CreateClient();
        var rows = string.Concat(Enumerable.Range(0, 2000).Select(i => Iris.Csv(i % Iris.Inputs.Count) + "\n"));
        var blob = await Blobs.PutAsync(storage, "incoming/iris/race.csv", $"{Iris.Header}\n{rows}");

        // Separate app instances, as on separate workers: nothing in memory is shared between them.
        using var other = new AzureApp(azurite.ConnectionString);
        await Task.WhenAll(Enumerable.Range(0, 6).Select(i => Task.Run(() => (i % 2 == 0 ? _app : other).ScoreAsync(blob))));

        var outgoing = await Blobs.ListAsync(storage, "outgoing", "iris/race.csv.");
        Assert.Single(outgoing, k => k.EndsWith(".results.csv", StringComparison.Ordinal));
        Assert.Single(outgoing, k => k.EndsWith(".summary.json", StringComparison.Ordinal));
        var results = await Blobs.ReadTextAsync(storage, outgoing.Single(k => k.EndsWith(".results.csv", StringComparison.Ordinal)));
        Assert.Equal(2001, results.Split('\n', StringSplitOptions.RemoveEmptyEntries).Length);
    }

    [Fact]
    public async Task RunAsync_ZeroByteBlob_ScoredWithZeroRows()
    {
        var storage = azurite.CreateClient();
        var blob = await Blobs.PutAsync(storage, "incoming/iris/empty.csv", []);

        await _app.ScoreAsync(blob);

        var outgoing = await Blobs.ListAsync(storage, "outgoing", "iris/empty.csv.");
        Assert.Equal("", await Blobs.ReadTextAsync(storage, Assert.Single(outgoing, k => k.EndsWith(".results.csv", StringComparison.Ordinal))));
        using var summary = JsonDocument.Parse(await Blobs.ReadTextAsync(storage, Assert.Single(outgoing, k => k.EndsWith(".summary.json", StringComparison.Ordinal))));
        Assert.Equal(0, summary.RootElement.GetProperty("rows_in").GetInt64());
    }

    [Theory]
    [InlineData("iris/Sales report 2026 (final)+v2 é.csv")]
    [InlineData("iris/my file+v2 é.csv")]
    [InlineData("iris/x;rm.csv")]
    [InlineData("iris/.hidden.csv")]
    public async Task RunAsync_FileNamesPeopleUse_Scored(string name)
    {
        var storage = azurite.CreateClient();
        var blob = await Blobs.PutAsync(storage, "incoming/" + name, $"{Iris.Header}\n{Iris.Csv(0)}\n");

        await _app.ScoreAsync(blob);

        var outgoing = await Blobs.ListAsync(storage, "outgoing", name + ".");
        Assert.Equal(2, outgoing.Count);
        Assert.Contains(Iris.Labels[0], await Blobs.ReadTextAsync(storage, Assert.Single(outgoing, k => k.EndsWith(".results.csv", StringComparison.Ordinal))), StringComparison.Ordinal);
    }

    [Theory]
    [InlineData("Iris Model/x.csv", "is not a model or version name")]
    [InlineData("x.csv", "is not incoming/<model>[/<version>]/<file>")]
    [InlineData("iris/1/2/x.csv", "is not incoming/<model>[/<version>]/<file>")]
    public async Task RunAsync_BlobNameOutsideTheLayout_MovedToFailedRefusedWithTheReasonWithoutRetry(string name, string reason)
    {
        var storage = azurite.CreateClient();
        var blob = await Blobs.PutAsync(storage, "incoming/" + name, $"{Iris.Header}\n{Iris.Csv(0)}\n");

        await _app.ScoreAsync(blob);

        Assert.False(await blob.ExistsAsync());
        var refused = Serverless.Inference.Batch.BatchKey.RefusedKey("incoming/" + name);
        Assert.Equal($"{Iris.Header}\n{Iris.Csv(0)}\n", await Blobs.ReadTextAsync(storage, refused));
        using var document = JsonDocument.Parse(await Blobs.ReadTextAsync(storage, refused + ".error.json"));
        Assert.Equal("incoming/" + name, document.RootElement.GetProperty("input").GetString());
        Assert.Contains(reason, document.RootElement.GetProperty("error").GetString(), StringComparison.Ordinal);
    }

    [Fact]
    public async Task RunAsync_UnknownModel_MovedToFailedAtOnceWithoutRedelivery()
    {
        var storage = azurite.CreateClient();
        var blob = await Blobs.PutAsync(storage, "incoming/nosuch/rows.csv", $"{Iris.Header}\n{Iris.Csv(0)}\n");

        await _app.ScoreAsync(blob);

        Assert.False(await blob.ExistsAsync());
        var failed = await Blobs.ListAsync(storage, "failed", "nosuch/rows.csv");
        Assert.Contains("failed/nosuch/rows.csv", failed);
        using var error = JsonDocument.Parse(await Blobs.ReadTextAsync(storage, "failed/nosuch/rows.csv.error.json"));
        Assert.Equal(1, error.RootElement.GetProperty("attempts").GetInt32());
        Assert.Contains("unknown model 'nosuch'", error.RootElement.GetProperty("error").GetString(), StringComparison.Ordinal);
        Assert.Equal($"{Iris.Header}\n{Iris.Csv(0)}\n", await Blobs.ReadTextAsync(storage, "failed/nosuch/rows.csv"));
        Assert.Empty(await Blobs.ListAsync(storage, "outgoing", "nosuch/"));

        // After it was set aside, a redelivery of the old event finds nothing to do.
        await _app.ScoreAsync(blob);
    }

    [Fact]
    public async Task RunAsync_RetryableFailure_ThrowsForRedeliveryThenMovesToFailed()
    {
        var storage = azurite.CreateClient();
        var blob = await Blobs.PutAsync(storage, "incoming/iris/columns.csv", "a,b,c,d\n1,2,3,4\n");

        var first = await Assert.ThrowsAsync<BatchRetryException>(() => _app.ScoreAsync(blob));
        await Assert.ThrowsAsync<BatchRetryException>(() => _app.ScoreAsync(blob));
        await _app.ScoreAsync(blob);

        Assert.Contains("the CSV header has no column(s)", first.Message, StringComparison.Ordinal);
        Assert.False(await blob.ExistsAsync());
        using var error = JsonDocument.Parse(await Blobs.ReadTextAsync(storage, "failed/iris/columns.csv.error.json"));
        Assert.Equal(3, error.RootElement.GetProperty("attempts").GetInt32());
    }

    [Fact]
    public async Task RunAsync_FailedNameAlreadyTaken_MovedBesideItWithoutOverwriting()
    {
        var storage = azurite.CreateClient();
        await Blobs.PutAsync(storage, "failed/nosuch/taken.csv", "an earlier failure");
        var blob = await Blobs.PutAsync(storage, "incoming/nosuch/taken.csv", $"{Iris.Header}\n{Iris.Csv(1)}\n");

        await _app.ScoreAsync(blob);

        Assert.False(await blob.ExistsAsync());
        Assert.Equal("an earlier failure", await Blobs.ReadTextAsync(storage, "failed/nosuch/taken.csv"));
        var moved = Assert.Single(await Blobs.ListAsync(storage, "failed", "nosuch/taken.csv."), k => !k.EndsWith(".json", StringComparison.Ordinal) && !k.EndsWith(".attempts", StringComparison.Ordinal));
        Assert.Equal($"{Iris.Header}\n{Iris.Csv(1)}\n", await Blobs.ReadTextAsync(storage, moved));
        Assert.Contains(moved + ".error.json", await Blobs.ListAsync(storage, "failed", "nosuch/taken.csv."));
    }

    [Fact]
    public void Services_BatchRunner_OneInstanceForEveryInvocationAsOnAws() =>
        Assert.Same(_app.Services.GetRequiredService<BatchJobRunner>(), _app.Services.GetRequiredService<BatchJobRunner>());
}
