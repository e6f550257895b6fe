using System.Reflection;
using Amazon.SQS;
using Amazon.SQS.Model;

namespace Serverless.Functions.Aws.Tests.Support;

/// <summary>
/// A real SQS client (moto) with SendMessageBatch refusals scripted in front of it: entries the script names are not
/// sent and come back as Failed, as SQS reports entries it could not take; every other call goes to moto unchanged.
/// </summary>
public class ScriptedSqs : DispatchProxy
{
    private IAmazonSQS _inner = null!;
    private Func<int, SendMessageBatchRequestEntry, BatchResultErrorEntry?> _refuse = null!;
    private int _batches;

    /// <summary>SendMessageBatch requests seen so far.</summary>
    public int Batches => _batches;

    /// <summary>The ids of every entry of every SendMessageBatch request, in order.</summary>
    public List<List<string>> Requests { get; } = [];

    /// <param name="refuse">Given the request's number (1 on) and an entry: the failure to report for it, or null to send it.</param>
    public static (IAmazonSQS Client, ScriptedSqs Script) Create(IAmazonSQS inner, Func<int, SendMessageBatchRequestEntry, BatchResultErrorEntry?> refuse)
    {
        var client = Create<IAmazonSQS, ScriptedSqs>();
        var script = (ScriptedSqs)(object)client;
        script._inner = inner;
        script._refuse = refuse;
        return (client, script);
    }

    protected override object? Invoke(MethodInfo? targetMethod, object?[]? args)
    {
        ArgumentNullException.ThrowIfNull(targetMethod);
        if (targetMethod.Name == nameof(IAmazonSQS.SendMessageBatchAsync) && args is [SendMessageBatchRequest request, CancellationToken cancellationToken])
        {
            return SendBatchAsync(request, cancellationToken);
        }

        try
        {
            return targetMethod.Invoke(_inner, args);
        }
        catch (TargetInvocationException e) when (e.InnerException is not null)
        {
            throw e.InnerException;
        }
    }

    private async Task<SendMessageBatchResponse> SendBatchAsync(SendMessageBatchRequest request, CancellationToken cancellationToken)
    {
        var number = Interlocked.Increment(ref _batches);
        lock (Requests)
        {
            Requests.Add([.. request.Entries.Select(e => e.Id)]);
        }

        var refused = request.Entries.Select(e => (Entry: e, Error: _refuse(number, e))).Where(r => r.Error is not null).ToList();
        var sent = request.Entries.Except(refused.Select(r => r.Entry)).ToList();
        var response = sent.Count == 0
            ? new SendMessageBatchResponse { Successful = [] }
            : await _inner.SendMessageBatchAsync(new SendMessageBatchRequest { QueueUrl = request.QueueUrl, Entries = sent }, cancellationToken);
        response.Failed = [.. response.Failed ?? [], .. refused.Select(r => r.Error!)];
        return response;
    }
}
