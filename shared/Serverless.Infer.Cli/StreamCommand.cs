using System.Buffers;
using System.CommandLine;
using System.Globalization;
using System.Text.Json;
using System.Threading.Channels;
using Serverless.Inference;
using Serverless.Inference.Hosting;
using Serverless.Inference.Repository;
using Serverless.Inference.Streaming;

namespace Serverless.Infer.Cli;

/// <param name="Input">The file to read; null reads standard input.</param>
/// <param name="Follow">Keep reading <paramref name="Input"/> as it grows, as <c>tail -f</c> does.</param>
/// <param name="Alerts">Append alerts to this file; null writes them to standard output among the predictions.</param>
/// <param name="BatchSize">Records per model run at most; default: the model's max_batch_size.</param>
internal sealed record StreamSettings(
    string Repository, string Model, string? Version, FileInfo? Input, bool Follow, TimeSpan MaxLatency, FileInfo? Alerts,
    string KeyField, string TimestampField, int? BatchSize);

/// <summary>
/// <c>infer stream</c>: newline-delimited records in (standard input or a file), one prediction line per record out,
/// in order and flushed as produced, and alerts as the model's rules fire, with per-key state held in memory for the
/// life of the process. Records are micro-batched with a latency bound: a batch runs when full, or when its first
/// record has waited the bound. A bad line is that record's error line; nothing stops the stream but its end
/// (everything read is scored and written first) or Ctrl+C (the records already read are still answered).
/// </summary>
internal static class StreamCommand
{
    /// <summary>A longer line is that record's error, its bytes skipped as they stream past.</summary>
    public const int MaxLineBytes = 1 << 20;

    /// <summary>How often a followed file is looked at again at its end.</summary>
    public static readonly TimeSpan FollowPoll = TimeSpan.FromMilliseconds(20);

    public static Command Create(Option<DirectoryInfo> repository)
    {
        var model = new Option<string>("--model", "-m") { Description = "The model to score with.", Required = true };
        var version = new Option<string?>("--version") { Description = "A version or alias; default: the model's default." };
        var input = new Option<FileInfo?>("--input", "-i") { Description = "Read this file instead of standard input." };
        var follow = new Option<bool>("--follow", "-f") { Description = "With --input: keep reading the file as it grows, as tail -f does (ends with Ctrl+C)." };
        var latency = new Option<int>("--max-latency-ms") { Description = "The longest a record waits for its batch to fill before it is scored anyway.", DefaultValueFactory = _ => 50 };
        var alerts = new Option<FileInfo?>("--alerts") { Description = "Append alerts to this file (one JSON line each); default: standard output, as {\"alert\":{...}} lines." };
        var keyField = new Option<string>("--key-field") { Description = "The record field that names its partition (a sensor, a device): alert rules count per key.", DefaultValueFactory = _ => "key" };
        var timestampField = new Option<string>("--timestamp-field") { Description = "The record field with its ISO 8601 time; a record without it gets its arrival time.", DefaultValueFactory = _ => "timestamp" };
        var batchSize = new Option<int?>("--batch-size") { Description = "Records per model run at most; default: the model's max_batch_size." };
        latency.Validators.Add(r =>
        {
            if (r.GetValueOrDefault<int>() is < 0 or > 3_600_000)
            {
                r.AddError("--max-latency-ms must be between 0 and 3600000");
            }
        });
        batchSize.Validators.Add(r =>
        {
            if (r.GetValueOrDefault<int?>() is < 1)
            {
                r.AddError("--batch-size must be at least 1");
            }
        });
        var command = new Command("stream", """
            Score newline-delimited records as they arrive (standard input, or --input [--follow]); one prediction line per
            record, in order, flushed as produced: {"key":..,"position":<line number>,"timestamp":..,"model":..,"version":..,
            "outputs":{..}} or {..,"error":".."}. Alerts from the model's streaming rules follow their record's prediction.
            Ends at the end of the input (exit 0) or on Ctrl+C (130); 1: the model cannot be loaded or output cannot be written;
            2: --input does not exist.
            """)
        {
            model, version, input, follow, latency, alerts, keyField, timestampField, batchSize, repository,
        };
        command.Validators.Add(r =>
        {
            if (r.GetValue(follow) && r.GetValue(input) is null)
            {
                r.AddError("--follow needs --input (to follow standard input, pipe it: tail -f FILE | infer stream ...)");
            }
        });
        command.SetAction((parse, cancellation) => RunAsync(
            new StreamSettings(
                parse.GetValue(repository)!.FullName,
                parse.GetValue(model)!,
                parse.GetValue(version),
                parse.GetValue(input),
                parse.GetValue(follow),
                TimeSpan.FromMilliseconds(parse.GetValue(latency)),
                parse.GetValue(alerts),
                parse.GetValue(keyField)!,
                parse.GetValue(timestampField)!,
                parse.GetValue(batchSize)),
            cancellation));
        return command;
    }

    public static async Task<int> RunAsync(StreamSettings settings, CancellationToken cancellationToken)
    {
        // Through a buffer flushed once per batch: one write to the pipe per batch, not one per line.
        await using var output = new BufferedStream(Console.OpenStandardOutput(), 1 << 16);
        return await RunAsync(settings, Console.OpenStandardInput, output, Console.Error, TimeProvider.System, cancellationToken);
    }

    public static async Task<int> RunAsync(
        StreamSettings settings, Func<Stream> standardInput, Stream standardOutput, TextWriter errors, TimeProvider time, CancellationToken cancellationToken)
    {
        if (settings.Input is { Exists: false } missing)
        {
            await errors.WriteLineAsync($"error: {missing.FullName} does not exist");
            return 2;
        }

        using var host = new ModelHost(new LocalFolderModelStore(settings.Repository), new ModelHostOptions());
        try
        {
            using var model = await host.AcquireAsync(settings.Model, settings.Version, cancellationToken);
            using var scorer = new StreamScorer(model, time);
            await using var alerts = settings.Alerts is { } file ? new FileStream(file.FullName, FileMode.Append, FileAccess.Write, FileShare.Read) : null;
            await using var output = new StreamOutput(standardOutput, alerts);
            await using var input = Open(settings, standardInput, time);
            // Bounded: a reader faster than the model waits, so memory holds a few batches whatever the input.
            var batchSize = Math.Min(settings.BatchSize ?? scorer.MicroBatchSize, scorer.MicroBatchSize);
            var records = Channel.CreateBounded<Arrival<StreamRecord>>(new BoundedChannelOptions(batchSize * 2) { SingleReader = true, SingleWriter = true });
            // Ctrl+C ends the input at once (a blocked read of a pipe may not notice the token); what was read is still answered.
            await using var stop = cancellationToken.Register(() => records.Writer.TryComplete());
            var reading = ReadAsync(input, records.Writer, new RecordFields(settings.KeyField, settings.TimestampField), time, cancellationToken);
            await AnswerAsync(new LatencyBatcher<StreamRecord>(records.Reader, batchSize, settings.MaxLatency, time), scorer, output);
            if (cancellationToken.IsCancellationRequested)
            {
                return 130;
            }

            await reading;
            return 0;
        }
        catch (Exception e) when (e is InferenceException or IOException or UnauthorizedAccessException)
        {
            await errors.WriteLineAsync($"error: {e.Message}");
            return 1;
        }
        catch (OperationCanceledException) when (cancellationToken.IsCancellationRequested)
        {
            return 130;
        }
    }

    private static Stream Open(StreamSettings settings, Func<Stream> standardInput, TimeProvider time) => settings switch
    {
        { Input: null } => standardInput(),
        { Follow: true } => new FollowedFile(settings.Input.FullName, FollowPoll, time),
        _ => new FileStream(settings.Input.FullName, FileMode.Open, FileAccess.Read, FileShare.ReadWrite | FileShare.Delete, 1 << 16, useAsync: true),
    };

    /// <summary>Scores batch after batch until the input ends, writing each record's prediction, then its alerts.</summary>
    private static async Task AnswerAsync(LatencyBatcher<StreamRecord> batcher, StreamScorer scorer, StreamOutput output)
    {
        // The per-key state (alert streaks, windows) of this stream; it lives as long as the process.
        var state = new StreamState();
        var line = new ArrayBufferWriter<byte>(1024);
        await using var json = new Utf8JsonWriter(line);
        // Not cancelled by Ctrl+C: the records already read are answered before the command ends.
        while (await batcher.NextAsync() is { } batch)
        {
            await foreach (var result in scorer.ScoreAsync(batch, state, CancellationToken.None))
            {
                line.ResetWrittenCount();
                json.Reset(line);
                result.WritePrediction(json);
                await json.FlushAsync();
                await output.WritePredictionAsync(line.WrittenMemory, CancellationToken.None);
                foreach (var alert in result.Alerts)
                {
                    await output.WriteAlertAsync(alert, CancellationToken.None);
                }
            }

            await output.FlushAsync(CancellationToken.None);
        }
    }

    /// <summary>Reads lines into the channel until the input ends or Ctrl+C, then completes it.</summary>
    private static async Task ReadAsync(Stream input, ChannelWriter<Arrival<StreamRecord>> records, RecordFields fields, TimeProvider time, CancellationToken cancellationToken)
    {
        try
        {
            await using var lines = new LineReader(input, MaxLineBytes);
            while (await lines.ReadAsync(cancellationToken) is { } line)
            {
                var arrived = time.GetTimestamp();
                var (key, timestamp) = fields.Read(line.Bytes, time.GetUtcNow());
                var position = line.Number.ToString(CultureInfo.InvariantCulture);
                await records.WriteAsync(new Arrival<StreamRecord>(new StreamRecord(key, position, timestamp, line.Bytes, line.Error), arrived), cancellationToken);
            }

            records.TryComplete();
        }
        catch (Exception e) when (e is OperationCanceledException or ChannelClosedException)
        {
            records.TryComplete();
        }
        catch (IOException e)
        {
            records.TryComplete(e);
            throw;
        }
    }
}
