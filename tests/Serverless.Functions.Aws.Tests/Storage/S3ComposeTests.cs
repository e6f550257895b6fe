using Amazon.S3.Model;
using Serverless.Functions.Aws.Storage;
using Serverless.Inference.Batch;

namespace Serverless.Functions.Aws.Tests.Storage;

/// <summary>
/// Compose on moto as S3 sees it: large parts are copied server-side (UploadPartCopy), never downloaded; small runs are
/// streamed; the completion is create-only; a failed compose leaves no upload behind.
/// </summary>
public sealed class S3ComposeTests : IClassFixture<MotoServer>, IDisposable
{
    private const int MiB = 1 << 20;

    private readonly MotoServer _moto;
    private readonly RecordingS3 _recorded;
    private readonly S3BatchStore _store;
    private readonly string _bucket = "compose-" + Guid.NewGuid().ToString("N")[..12];

    public S3ComposeTests(MotoServer moto)
    {
        _moto = moto;
        _recorded = new RecordingS3(moto);
        _recorded.Client.PutBucketAsync(_bucket).GetAwaiter().GetResult();
        _store = new S3BatchStore(_recorded.Client, _bucket);
    }

    public void Dispose() => _recorded.Dispose();

    private async Task<(List<BatchObject> Parts, byte[] Expected)> PartsAsync(params int[] sizes)
    {
        var parts = new List<BatchObject>();
        var expected = new List<byte>();
        for (var i = 0; i < sizes.Length; i++)
        {
            var bytes = new byte[sizes[i]];
            new Random(i + 7).NextBytes(bytes);
            expected.AddRange(bytes);
            var key = $"outgoing/m/f.csv.run/part-{i:D5}";
            Assert.True(await _store.CreateAsync(key, new MemoryStream(bytes), default));
            parts.Add((await _store.StatAsync(key, default))!);
        }

        _recorded.Clear();
        return (parts, [.. expected]);
    }

    private async Task<byte[]> ReadAsync(string key)
    {
        using var response = await _recorded.Client.GetObjectAsync(_bucket, key);
        using var copy = new MemoryStream();
        await response.ResponseStream.CopyToAsync(copy);
        return copy.ToArray();
    }

    private async Task<int> OpenUploadsAsync() =>
        (await _recorded.Client.ListMultipartUploadsAsync(new ListMultipartUploadsRequest { BucketName = _bucket })).MultipartUploads?.Count ?? 0;

    [Fact]
    public async Task Compose_LargePartsAndASmallLastOne_CopiedServerSideNothingDownloaded()
    {
        var (parts, expected) = await PartsAsync(6 * MiB, 11 * MiB, 5);

        Assert.True(await _store.ComposeAsync("outgoing/m/f.csv.results.csv", parts, default));

        var calls = _recorded.Calls;
        Assert.Equal(3, calls.Count(c => c.IsUploadPartCopy));
        Assert.DoesNotContain(calls, c => c.IsGetObject);
        Assert.DoesNotContain(calls, c => c.IsUploadPart);
        Assert.Single(calls, c => c.IsCompleteMultipartUpload);
        Assert.Equal(expected, await ReadAsync("outgoing/m/f.csv.results.csv"));
    }

    [Fact]
    public async Task Compose_SmallPartBetweenLargeOnes_OnlyTheToppedUpRunDownloaded()
    {
        var (parts, expected) = await PartsAsync(6 * MiB, 5, 11 * MiB);

        Assert.True(await _store.ComposeAsync("outgoing/m/f.csv.results.csv", parts, default));

        var calls = _recorded.Calls;
        var downloaded = calls.Where(c => c.IsGetObject).ToList();
        // The 5-byte part whole, then the first 5 MiB - 5 bytes of the 11 MiB part by range; the 6 MiB part not at all.
        Assert.Equal(2, downloaded.Count);
        Assert.Equal(5L << 20, downloaded.Sum(c => c.ResponseBytes));
        Assert.DoesNotContain(downloaded, c => c.Path.EndsWith("part-00000", StringComparison.Ordinal));
        Assert.Equal(2, calls.Count(c => c.IsUploadPartCopy));
        Assert.Single(calls, c => c.IsUploadPart);
        Assert.Equal(expected, await ReadAsync("outgoing/m/f.csv.results.csv"));
    }

    [Fact]
    public async Task Compose_OnlySmallParts_OneCreateOnlyPutNoMultipartUpload()
    {
        var (parts, expected) = await PartsAsync(3, 0, 1000, 7);

        Assert.True(await _store.ComposeAsync("outgoing/m/f.csv.results.csv", parts, default));

        var calls = _recorded.Calls;
        Assert.DoesNotContain(calls, c => c.IsCreateMultipartUpload);
        Assert.Single(calls, c => c.IsPutObject);
        Assert.Equal(expected, await ReadAsync("outgoing/m/f.csv.results.csv"));
    }

    [Fact]
    public async Task Compose_LargePartReplacedSinceItsStat_RefusedNothingCreatedUploadAborted()
    {
        var (parts, _) = await PartsAsync(6 * MiB, 6 * MiB);
        await _recorded.Client.PutObjectAsync(new PutObjectRequest { BucketName = _bucket, Key = parts[1].Key, InputStream = new MemoryStream(new byte[6 * MiB]) });

        var error = await Assert.ThrowsAsync<BatchObjectChangedException>(() => _store.ComposeAsync("outgoing/m/f.csv.results.csv", parts, default));

        Assert.Contains(parts[1].Key, error.Message, StringComparison.Ordinal);
        Assert.Null(await _store.StatAsync("outgoing/m/f.csv.results.csv", default));
        Assert.Equal(0, await OpenUploadsAsync());
    }

    [Fact]
    public async Task Compose_KeyTakenWhileCopying_FalseTheOtherObjectKeptUploadAborted()
    {
        var (parts, _) = await PartsAsync(6 * MiB, 5);
        using var other = _moto.CreateS3();
        _recorded.BeforeSend = async request =>
        {
            if (request.Method == HttpMethod.Post && request.RequestUri!.Query.Contains("uploadId=", StringComparison.Ordinal))
            {
                await other.PutObjectAsync(new PutObjectRequest { BucketName = _bucket, Key = "outgoing/m/f.csv.results.csv", ContentBody = "the racing merger's result" });
            }
        };

        var created = await _store.ComposeAsync("outgoing/m/f.csv.results.csv", parts, default);

        Assert.False(created);
        Assert.Equal("the racing merger's result"u8.ToArray(), await ReadAsync("outgoing/m/f.csv.results.csv"));
        Assert.Equal(0, await OpenUploadsAsync());
    }

    [Fact]
    public async Task Compose_KeyAlreadyTaken_FalseWithoutStartingAnUpload()
    {
        var (parts, _) = await PartsAsync(6 * MiB);
        Assert.True(await _store.CreateAsync("outgoing/m/f.csv.results.csv", new MemoryStream("x"u8.ToArray()), default));
        _recorded.Clear();

        Assert.False(await _store.ComposeAsync("outgoing/m/f.csv.results.csv", parts, default));

        Assert.DoesNotContain(_recorded.Calls, c => c.IsCreateMultipartUpload);
    }
}
