using System.Collections.Concurrent;
using Grpc.Core;
using Microsoft.Azure.WebJobs.Script.Grpc.Messages;

namespace Serverless.Functions.Azure.HostStandIn.Host;

/// <summary>
/// The host's gRPC service, which every worker calls back: a worker opens <c>EventStream</c> with <c>StartStream</c>
/// naming the worker id it was started with, and the stream is handed to that worker's channel.
/// </summary>
internal sealed class FunctionRpcEndpoint(FunctionRpcEndpoint.Workers workers) : FunctionRpc.FunctionRpcBase
{
    public override async Task EventStream(IAsyncStreamReader<StreamingMessage> requestStream, IServerStreamWriter<StreamingMessage> responseStream, ServerCallContext context)
    {
        ArgumentNullException.ThrowIfNull(requestStream);
        ArgumentNullException.ThrowIfNull(context);
        if (!await requestStream.MoveNext(context.CancellationToken).ConfigureAwait(false)
            || requestStream.Current.ContentCase != StreamingMessage.ContentOneofCase.StartStream)
        {
            throw new Grpc.Core.RpcException(new Status(StatusCode.InvalidArgument, "a worker's stream must open with StartStream"));
        }

        var workerId = requestStream.Current.StartStream.WorkerId;
        if (!workers.TryGet(workerId, out var channel))
        {
            throw new Grpc.Core.RpcException(new Status(StatusCode.NotFound, $"no worker was started with id '{workerId}'"));
        }

        await channel.RunStreamAsync(requestStream, responseStream, context.CancellationToken).ConfigureAwait(false);
    }

    /// <summary>The workers started and not yet disposed, by the worker id passed on their command line.</summary>
    internal sealed class Workers
    {
        private readonly ConcurrentDictionary<string, WorkerChannel> _channels = new(StringComparer.Ordinal);

        public void Add(WorkerChannel channel) => _channels[channel.WorkerId] = channel;

        public void Remove(WorkerChannel channel) => _channels.TryRemove(channel.WorkerId, out _);

        public bool TryGet(string workerId, [System.Diagnostics.CodeAnalysis.NotNullWhen(true)] out WorkerChannel? channel) =>
            _channels.TryGetValue(workerId, out channel);
    }
}
