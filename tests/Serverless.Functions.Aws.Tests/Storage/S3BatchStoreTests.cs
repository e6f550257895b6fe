using Amazon.S3;
using Amazon.S3.Model;
using Serverless.Batch.Contract;
using Serverless.Functions.Aws.Storage;
using Serverless.Inference.Batch;

namespace Serverless.Functions.Aws.Tests.Storage;

/// <summary>The batch store contract against moto's S3, a bucket per test.</summary>
public sealed class S3BatchStoreContractTests(MotoServer moto) : BatchStoreContract, IClassFixture<MotoServer>
{
    private readonly MotoBucket _bucket = new(moto, "contract-");

    protected override IBatchStore Store => _bucket.Store;

    /// <summary>An endpoint nobody listens on, without retries: every call fails at once.</summary>
    protected override IBatchStore BrokenStore { get; } = new S3BatchStore(Unreachable(), "nowhere");

    protected override Task PutBehindAsync(string key, byte[] content) => _bucket.PutAsync(key, content);

    protected override Task DeleteBehindAsync(string key) => _bucket.Client.DeleteObjectAsync(_bucket.Name, key);

    internal static AmazonS3Client Unreachable() =>
        new(MotoServer.Credentials, new AmazonS3Config { ServiceURL = "http://127.0.0.1:9", ForcePathStyle = true, AuthenticationRegion = MotoServer.Region, MaxErrorRetry = 0, Timeout = TimeSpan.FromSeconds(5) });

    protected override void Dispose(bool disposing)
    {
        if (disposing)
        {
            _bucket.Dispose();
        }

        base.Dispose(disposing);
    }
}

/// <summary>
/// The sharding contract (planning, one part per shard, one merge, replaced input, poison shard, dead letters, killed
/// worker, stale merge claim) on moto's S3: parts and plans behind S3's create-only writes, the merge through
/// S3BatchStore's multipart compose.
/// </summary>
public sealed class S3ShardingContractTests(MotoServer moto) : ShardingContract, IClassFixture<MotoServer>
{
    private readonly MotoBucket _bucket = new(moto, "sharding-");

    protected override IBatchStore Store => _bucket.Store;

    protected override Task PutBehindAsync(string key, byte[] content) => _bucket.PutAsync(key, content);

    protected override void Dispose(bool disposing)
    {
        if (disposing)
        {
            _bucket.Dispose();
        }

        base.Dispose(disposing);
    }
}

/// <summary>The sweep over a fresh moto bucket.</summary>
public sealed class S3IncomingSweepTests(MotoServer moto) : IncomingSweepContract, IClassFixture<MotoServer>
{
    private readonly MotoBucket _bucket = new(moto, "sweep-");

    protected override IBatchStore Store => _bucket.Store;

    protected override Task PutBehindAsync(string key, byte[] content) => _bucket.PutAsync(key, content);

    protected override void Dispose(bool disposing)
    {
        if (disposing)
        {
            _bucket.Dispose();
        }

        base.Dispose(disposing);
    }
}

/// <summary>What only the S3 store does.</summary>
public sealed class S3BatchStoreTests(MotoServer moto) : IClassFixture<MotoServer>
{
    [Fact]
    public async Task StatAsync_Object_IdentityIsTheUnquotedETag()
    {
        await using var function = await MotoFunction.CreateAsync(moto, uploadModel: false);
        await function.PutAsync("incoming/m/a.csv", "x,y\n");
        var store = new S3BatchStore(function.S3, function.Bucket);

        var stat = await store.StatAsync("incoming/m/a.csv", CancellationToken.None);

        // The MD5 of the content: S3's ETag for a single-part upload.
#pragma warning disable CA5351 // Not security: it is how S3 computes the ETag.
        Assert.Equal(Convert.ToHexStringLower(System.Security.Cryptography.MD5.HashData("x,y\n"u8)), stat!.Identity);
#pragma warning restore CA5351
    }

    [Fact]
    public async Task StatAsync_EveryS3Failure_TranslatedWithTheBucketKeptOutOfTheMessage()
    {
        var store = new S3BatchStore(S3BatchStoreContractTests.Unreachable(), "private-bucket");

        var failure = await Assert.ThrowsAsync<BatchStoreException>(() => store.StatAsync("incoming/iris/a.csv", CancellationToken.None));

        Assert.DoesNotContain("private-bucket", failure.Message, StringComparison.Ordinal);
        Assert.Contains("s3://private-bucket", failure.Detail, StringComparison.Ordinal);
    }

    [Fact]
    public async Task OpenReadAsync_ArchivedObject_StoreExceptionNotAnSdkOne()
    {
        await using var function = await MotoFunction.CreateAsync(moto, uploadModel: false);
        await function.S3.PutObjectAsync(new PutObjectRequest { BucketName = function.Bucket, Key = "incoming/iris/cold.csv", ContentBody = "x", StorageClass = S3StorageClass.Glacier });
        var store = new S3BatchStore(function.S3, function.Bucket);
        var stat = await store.StatAsync("incoming/iris/cold.csv", CancellationToken.None);

        var failure = await Assert.ThrowsAsync<BatchStoreException>(() => store.OpenReadAsync(stat!, CancellationToken.None));

        Assert.Equal("could not read 'incoming/iris/cold.csv': 403 InvalidObjectState", failure.Message);
    }
}
