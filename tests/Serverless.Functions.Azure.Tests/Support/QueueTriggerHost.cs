using System.Text.Json;
using Azure.Storage.Queues;
using Azure.Storage.Queues.Models;

namespace Serverless.Functions.Azure.Tests.Support;

/// <summary>
/// What the Functions host's queue trigger does with a queue, for tests: receive a message (base64-decoded, as with
/// host.json's <c>messageEncoding</c>), invoke the function, delete the message when it returns; when it throws, make
/// the message visible again, and once it has been delivered <c>maxDequeueCount</c> times (read from the app's
/// host.json) move it to <c>&lt;queue&gt;-poison</c> instead. Workers receive in parallel, each its own "instance".
/// </summary>
public sealed class QueueTriggerHost(QueueClient queue, QueueClient poison)
{
    public static int MaxDequeueCount { get; } = ReadMaxDequeueCount();

    /// <summary>Every invocation's outcome: the message and the exception it threw, if any.</summary>
    public List<(string Message, Exception? Error)> Invocations { get; } = [];

    /// <summary>Runs until the queue is empty: each worker takes one message at a time, as batchSize 1 does.</summary>
    public async Task DrainAsync(IReadOnlyList<Func<string, Task>> workers, TimeSpan? timeout = null)
    {
        using var stop = new CancellationTokenSource(timeout ?? TimeSpan.FromMinutes(2));
        await Task.WhenAll(workers.Select(worker => Task.Run(() => WorkAsync(worker, stop.Token))));
    }

    public Task DrainAsync(Func<string, Task> worker, TimeSpan? timeout = null) => DrainAsync([worker], timeout);

    /// <summary>Receives one message without invoking anything: a test delivers it itself, later.</summary>
    public async Task<QueueMessage?> TakeAsync()
    {
        var received = (await queue.ReceiveMessagesAsync(maxMessages: 1, visibilityTimeout: TimeSpan.FromMinutes(5))).Value;
        return received.Length == 0 ? null : received[0];
    }

    /// <summary>Deletes a message taken with <see cref="TakeAsync"/>, as the host does after a successful invocation.</summary>
    public Task CompleteAsync(QueueMessage message) => queue.DeleteMessageAsync(message.MessageId, message.PopReceipt);

    private async Task WorkAsync(Func<string, Task> worker, CancellationToken cancellationToken)
    {
        while (!cancellationToken.IsCancellationRequested)
        {
            var received = (await queue.ReceiveMessagesAsync(maxMessages: 1, visibilityTimeout: TimeSpan.FromMinutes(5), cancellationToken)).Value;
            if (received.Length == 0)
            {
                return;
            }

            var message = received[0];
            var text = message.Body.ToString();
            Exception? error = null;
            try
            {
                await worker(text);
            }
#pragma warning disable CA1031 // The host catches whatever a function throws and counts it as a failed delivery.
            catch (Exception e)
#pragma warning restore CA1031
            {
                error = e;
            }

            lock (Invocations)
            {
                Invocations.Add((text, error));
            }

            if (error is null)
            {
                await queue.DeleteMessageAsync(message.MessageId, message.PopReceipt, cancellationToken);
            }
            else if (message.DequeueCount >= MaxDequeueCount)
            {
                await poison.SendMessageAsync(text, cancellationToken);
                await queue.DeleteMessageAsync(message.MessageId, message.PopReceipt, cancellationToken);
            }
            else
            {
                // host.json's visibilityTimeout is the pause before a failed message is seen again; tests need no pause.
                await queue.UpdateMessageAsync(message.MessageId, message.PopReceipt, visibilityTimeout: TimeSpan.Zero, cancellationToken: cancellationToken);
            }
        }
    }

    private static int ReadMaxDequeueCount()
    {
        using var host = JsonDocument.Parse(File.ReadAllBytes(Path.Combine(AppContext.BaseDirectory, "host.json")));
        return host.RootElement.GetProperty("extensions").GetProperty("queues").GetProperty("maxDequeueCount").GetInt32();
    }
}
