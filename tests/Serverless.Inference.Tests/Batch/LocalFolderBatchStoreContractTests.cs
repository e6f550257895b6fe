using Serverless.Batch.Contract;
using Serverless.Inference.Batch;
using Serverless.Inference.Tests.Batch.Support;

namespace Serverless.Inference.Tests.Batch;

/// <summary>The batch store contract against a local drop folder.</summary>
public sealed class LocalFolderBatchStoreContractTests : BatchStoreContract
{
    private readonly TempDropFolder _drop = new();

    protected override IBatchStore Store => _drop.Store;

    protected override IBatchStore BrokenStore { get; } = new LocalFolderBatchStore(Path.Combine(Path.GetTempPath(), "no-such-drop-folder-" + Guid.NewGuid().ToString("N")));

    protected override Task PutBehindAsync(string key, byte[] content)
    {
        _drop.Put(key, content);
        return Task.CompletedTask;
    }

    protected override Task DeleteBehindAsync(string key)
    {
        File.Delete(_drop.PathOf(key));
        return Task.CompletedTask;
    }

    protected override void Dispose(bool disposing)
    {
        if (disposing)
        {
            _drop.Dispose();
        }

        base.Dispose(disposing);
    }
}

/// <summary>The sweep over a local drop folder (locally the watcher does this job; the sweep works there too).</summary>
public sealed class LocalFolderIncomingSweepTests : IncomingSweepContract
{
    private readonly TempDropFolder _drop = new();

    protected override IBatchStore Store => _drop.Store;

    protected override Task PutBehindAsync(string key, byte[] content)
    {
        _drop.Put(key, content);
        return Task.CompletedTask;
    }

    protected override void Dispose(bool disposing)
    {
        if (disposing)
        {
            _drop.Dispose();
        }

        base.Dispose(disposing);
    }
}

/// <summary>Big files fanned out and merged over a local drop folder, with a 100 MB line at a shard boundary.</summary>
public sealed class LocalFolderShardingTests : ShardingContract
{
    private readonly TempDropFolder _drop = new();

    protected override IBatchStore Store => _drop.Store;

    protected override int HugeLineBytes => 100 << 20;

    protected override Task PutBehindAsync(string key, byte[] content)
    {
        _drop.Put(key, content);
        return Task.CompletedTask;
    }

    protected override void Dispose(bool disposing)
    {
        if (disposing)
        {
            _drop.Dispose();
        }

        base.Dispose(disposing);
    }
}
