using System.Text;
using Azure.Core;
using Azure.Storage.Blobs;
using Serverless.Functions.Azure.Storage;
using Serverless.Inference.Batch;

namespace Serverless.Functions.Azure.Tests.Storage;

/// <summary>
/// How the Blob store composes: on the service (Put Block From URL + Put Block List), never through the app. Against
/// Azurite with the account key (a read-only SAS on each source); against an in-memory service for what Azurite
/// cannot show, the managed-identity path (an OAuth token beside each copy) and parts over the 4000 MiB block limit.
/// </summary>
public sealed class BlobComposeTests(Azurite azurite) : IClassFixture<Azurite>
{
    private readonly string _folder = "c" + Guid.NewGuid().ToString("N")[..10];

    [Fact]
    public async Task Compose_AccountKey_EachPartCopiedOnTheServicePinnedToItsETag()
    {
        var recorder = new RequestRecorder();
        var store = new BlobBatchStore(Client(recorder));
        var parts = await PartsAsync(store, "first part\n", "second, a little longer\n", "third\n");
        var before = recorder.Requests.Count;

        Assert.True(await store.ComposeAsync($"outgoing/{_folder}/whole.csv", parts, default));

        var requests = recorder.Requests.Skip(before).ToList();
        var blocks = requests.Where(r => r.Query("comp") == "block").ToList();
        Assert.Equal(parts.Select(p => (p.Key[(p.Key.IndexOf('/', StringComparison.Ordinal) + 1)..], p.Identity, $"bytes=0-{p.Length - 1}")).Order(),
            blocks.Select(b => (SourceName(b), b.Header("x-ms-source-if-match")!, b.Header("x-ms-source-range")!)).Order());
        Assert.All(blocks, b =>
        {
            var source = new Uri(b.Header("x-ms-copy-source")!);
            Assert.Contains("sig=", source.Query, StringComparison.Ordinal);
            Assert.Equal("r", System.Web.HttpUtility.ParseQueryString(source.Query)["sp"]);
            Assert.Null(b.Header("x-ms-copy-source-authorization"));
        });
        Assert.Single(blocks.Select(b => b.Query("blockid")!.Length).Distinct());
        Assert.Equal(blocks.Count, blocks.Select(b => b.Query("blockid")).Distinct().Count());
        var commit = Assert.Single(requests, r => r.Query("comp") == "blocklist");
        Assert.Equal("*", commit.Header("if-none-match"));
        // Nothing was downloaded: no byte of a part came through the app.
        Assert.DoesNotContain(requests, r => r.Method == "GET");
        Assert.Equal("first part\nsecond, a little longer\nthird\n", await Blobs.ReadTextAsync(azurite.CreateClient(), $"outgoing/{_folder}/whole.csv"));
    }

    [Fact]
    public async Task Compose_EmptyPartsAndNoParts_PinCheckedNoBlockForThem()
    {
        var store = new BlobBatchStore(azurite.CreateClient());
        var parts = await PartsAsync(store, "a\n", "", "b\n");
        var onlyEmpty = await PartsAsync(store, "");

        Assert.True(await store.ComposeAsync($"outgoing/{_folder}/with-empty.csv", parts, default));
        Assert.True(await store.ComposeAsync($"outgoing/{_folder}/only-empty.csv", onlyEmpty, default));
        Assert.True(await store.ComposeAsync($"outgoing/{_folder}/none.csv", [], default));

        Assert.Equal("a\nb\n", await Blobs.ReadTextAsync(azurite.CreateClient(), $"outgoing/{_folder}/with-empty.csv"));
        Assert.Equal("", await Blobs.ReadTextAsync(azurite.CreateClient(), $"outgoing/{_folder}/only-empty.csv"));
        Assert.Equal(0, (await store.StatAsync($"outgoing/{_folder}/none.csv", default))!.Length);
    }

    [Fact]
    public async Task Compose_EmptyPartReplaced_RefusedAndNothingCreated()
    {
        var store = new BlobBatchStore(azurite.CreateClient());
        var parts = await PartsAsync(store, "a\n", "");
        await Blobs.PutAsync(azurite.CreateClient(), parts[1].Key, "no longer empty\n");

        await Assert.ThrowsAsync<BatchObjectChangedException>(() => store.ComposeAsync($"outgoing/{_folder}/whole.csv", parts, default));

        Assert.Null(await store.StatAsync($"outgoing/{_folder}/whole.csv", default));
    }

    [Fact]
    public async Task Compose_PartDeletedSinceItWasChecked_RefusedAndNothingCreated()
    {
        var store = new BlobBatchStore(azurite.CreateClient());
        var parts = await PartsAsync(store, "a\n", "b\n");
        await azurite.CreateClient().GetBlobContainerClient("outgoing").GetBlobClient(parts[0].Key["outgoing/".Length..]).DeleteAsync();

        var refused = await Assert.ThrowsAsync<BatchObjectChangedException>(() => store.ComposeAsync($"outgoing/{_folder}/whole.csv", parts, default));

        Assert.Contains(parts[0].Key, refused.Message, StringComparison.Ordinal);
        Assert.Null(await store.StatAsync($"outgoing/{_folder}/whole.csv", default));
    }

    /// <summary>Two mergers racing for one key with different parts: one wins whole, never a mix of both.</summary>
    [Fact]
    public async Task Compose_TwoAtOnceForOneKey_OneWinsWithOnlyItsOwnParts()
    {
        var store = new BlobBatchStore(azurite.CreateClient());
        var left = await PartsAsync(store, "L0\n", "L1\n", "L2\n", "L3\n");
        var right = await PartsAsync(store, "R0\n", "R1\n", "R2\n", "R3\n");

        for (var round = 0; round < 5; round++)
        {
            var key = $"outgoing/{_folder}/race-{round}.csv";
            var results = await Task.WhenAll(
                Task.Run(() => store.ComposeAsync(key, left, default)),
                Task.Run(() => store.ComposeAsync(key, right, default)));

            Assert.Single(results, won => won);
            Assert.Contains(await Blobs.ReadTextAsync(azurite.CreateClient(), key), new[] { "L0\nL1\nL2\nL3\n", "R0\nR1\nR2\nR3\n" });
        }
    }

    [Fact]
    public async Task Compose_ClientWithoutAccountKeyOrToken_StreamsThePartsThroughTheApp()
    {
        var recorder = new RequestRecorder();
        var keyed = new BlobBatchStore(azurite.CreateClient());
        var parts = await PartsAsync(keyed, "x\n", "y\n");
        var store = new BlobBatchStore(Client(recorder), BlobCopySource.None);

        Assert.True(await store.ComposeAsync($"outgoing/{_folder}/whole.csv", parts, default));

        Assert.DoesNotContain(recorder.Requests, r => r.Query("comp") == "block");
        Assert.Equal(2, recorder.Requests.Count(r => r.Method == "GET"));
        Assert.Equal("x\ny\n", await Blobs.ReadTextAsync(azurite.CreateClient(), $"outgoing/{_folder}/whole.csv"));
    }

    [Fact]
    public async Task Compose_ManagedIdentity_EachSourceAuthorisedByABearerTokenForStorageNotBySas()
    {
        var handler = new AcceptingBlobHandler();
        var credential = new FixedTokenCredential("token-of-the-app");
        var store = new BlobBatchStore(InMemoryClient(handler, credential), BlobCopySource.OAuth(credential));
        BatchObject[] parts = [Part("part-00000.csv", 10), Part("part-00001.csv", 20)];

        Assert.True(await store.ComposeAsync("outgoing/iris/a.csv.r1/results.csv", parts, default));

        var blocks = handler.Requests.Where(r => r.Query("comp") == "block").ToList();
        Assert.Equal(2, blocks.Count);
        Assert.All(blocks, b => Assert.Equal("Bearer token-of-the-app", b.Header("x-ms-copy-source-authorization")));
        Assert.Equal(
            ["https://inferencedata.blob.core.windows.net/outgoing/iris/a.csv.r1/part-00000.csv", "https://inferencedata.blob.core.windows.net/outgoing/iris/a.csv.r1/part-00001.csv"],
            blocks.Select(b => b.Header("x-ms-copy-source")!).Order(StringComparer.Ordinal));
        Assert.All(credential.Scopes, scopes => Assert.Equal([BlobCopySource.StorageScope], scopes));
        Assert.Equal("*", Assert.Single(handler.Requests, r => r.Query("comp") == "blocklist").Header("if-none-match"));
    }

    [Fact]
    public async Task Compose_PartOverTheBlockLimit_CopiedAsRangesOfAtMost4000MiBCommittedInOrder()
    {
        var handler = new AcceptingBlobHandler();
        var credential = new FixedTokenCredential("t");
        var store = new BlobBatchStore(InMemoryClient(handler, credential), BlobCopySource.OAuth(credential));
        const long Limit = 4000L << 20;
        BatchObject[] parts = [Part("part-00000.csv", 2 * Limit + 7), Part("part-00001.csv", Limit), Part("part-00002.csv", 1)];

        Assert.True(await store.ComposeAsync("outgoing/iris/a.csv.r1/results.csv", parts, default));

        var blocks = handler.Requests.Where(r => r.Query("comp") == "block").ToList();
        var byId = blocks.ToDictionary(b => b.Query("blockid")!, b => (Source: b.Header("x-ms-copy-source")![^14..], Range: b.Header("x-ms-source-range")!));
        var committed = System.Xml.Linq.XDocument.Parse(Assert.Single(handler.Requests, r => r.Query("comp") == "blocklist").Body).Root!.Elements().Select(e => e.Value).ToList();
        Assert.Equal(
            [
                ("part-00000.csv", $"bytes=0-{Limit - 1}"),
                ("part-00000.csv", $"bytes={Limit}-{(2 * Limit) - 1}"),
                ("part-00000.csv", $"bytes={2 * Limit}-{(2 * Limit) + 6}"),
                ("part-00001.csv", $"bytes=0-{Limit - 1}"),
                ("part-00002.csv", "bytes=0-0"),
            ],
            committed.Select(id => byId[id]));
        Assert.Single(committed.Select(id => Convert.FromBase64String(id).Length).Distinct());
    }

    private static BatchObject Part(string name, long length) => new($"outgoing/iris/a.csv.r1/{name}", "\"0x8DD0000000000A1\"", length, DateTimeOffset.UtcNow);

    private static BlobServiceClient InMemoryClient(AcceptingBlobHandler handler, TokenCredential credential)
    {
        var options = StorageConnection.ClientOptions();
        options.Transport = handler.Transport();
        options.Retry.MaxRetries = 0;
        return new BlobServiceClient(new Uri("https://inferencedata.blob.core.windows.net"), credential, options);
    }

    private BlobServiceClient Client(RequestRecorder recorder)
    {
        var options = StorageConnection.ClientOptions();
        options.AddPolicy(recorder, HttpPipelinePosition.PerRetry);
        return new BlobServiceClient(azurite.ConnectionString, options);
    }

    private async Task<List<BatchObject>> PartsAsync(BlobBatchStore store, params string[] contents)
    {
        var parts = new List<BatchObject>();
        foreach (var content in contents)
        {
            var key = $"outgoing/{_folder}/run/part-{Guid.NewGuid():N}.csv";
            Assert.True(await store.CreateAsync(key, new MemoryStream(Encoding.UTF8.GetBytes(content)), default));
            parts.Add((await store.StatAsync(key, default))!);
        }

        return parts;
    }

    // The copy source's blob name, inside its container, without the SAS.
    private static string SourceName(RecordedRequest block)
    {
        var source = new Uri(block.Header("x-ms-copy-source")!);
        var path = Uri.UnescapeDataString(source.AbsolutePath);
        const string Container = "/devstoreaccount1/outgoing/";
        return path[(path.IndexOf(Container, StringComparison.Ordinal) + Container.Length)..];
    }
}
