using Microsoft.Extensions.Hosting;
using Serverless.Inference.Batch.Sharding;

namespace Serverless.Infer.Cli;

/// <summary>Runs the drop folder's shard workers for as long as the host runs.</summary>
internal sealed class ShardWorkers(InProcessShardQueue queue) : BackgroundService
{
    protected override Task ExecuteAsync(CancellationToken stoppingToken) => queue.RunAsync(stoppingToken);
}
