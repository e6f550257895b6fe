using Serverless.Inference;
using Serverless.Inference.Batch;
using Serverless.Inference.Batch.Sharding;
using Serverless.Inference.Hosting;
using Serverless.Inference.Repository;
using Spectre.Console;

namespace Serverless.Infer.Cli;

/// <param name="Workers">Scorers working on shards of the file at once; 1 scores it in one piece.</param>
internal sealed record ScoreSettings(string Repository, FileInfo Input, string Model, string? Version, FileInfo? Output, BatchFormat? Format, int? MicroBatchSize, int Workers = 1);

/// <summary><c>infer score</c>: one file through a model, with a progress bar, results published only when complete.</summary>
internal static class ScoreCommand
{
    public static Task<int> RunAsync(ScoreSettings settings, CancellationToken cancellationToken) => RunAsync(settings, TimeProvider.System, cancellationToken);

    /// <param name="time">The clock for the summary and the progress rate (tests pass a fake one).</param>
    public static async Task<int> RunAsync(ScoreSettings settings, TimeProvider time, CancellationToken cancellationToken)
    {
        if (!settings.Input.Exists)
        {
            AnsiConsole.MarkupLineInterpolated($"[red]error:[/] {settings.Input.FullName} does not exist");
            return 2;
        }

        var format = settings.Format ?? BatchFormats.FromFileName(settings.Input.Name);
        if (format is not { } chosen)
        {
            AnsiConsole.MarkupLineInterpolated($"[red]error:[/] cannot tell the format of {settings.Input.Name}; name it .csv or .jsonl, or pass --format");
            return 2;
        }

        var output = settings.Output?.FullName ?? Path.ChangeExtension(settings.Input.FullName, $".results.{chosen.Extension()}");
        using var host = new ModelHost(new LocalFolderModelStore(settings.Repository), new ModelHostOptions());
        try
        {
            using var model = await host.AcquireAsync(settings.Model, settings.Version, cancellationToken);
            // Keys in <input>_key columns are paths relative to the input file's folder.
            var attachments = new StoreAttachments(new LocalFolderBatchStore(settings.Input.DirectoryName!), StoreAttachments.DefaultMaxBytes);
            var options = new BatchOptions { MicroBatchSize = settings.MicroBatchSize, Attachments = attachments };
            var summary = await ScoreWithProgressAsync(model, options, settings, output, chosen, time, cancellationToken);
            await File.WriteAllBytesAsync(Path.ChangeExtension(output, ".summary.json"), (summary with { Output = output }).ToJson(), cancellationToken);
            Show(summary with { Output = output });
            return summary.RowsFailed == 0 ? 0 : 3;
        }
        catch (Exception e) when (e is InferenceException or IOException or UnauthorizedAccessException)
        {
            AnsiConsole.MarkupLineInterpolated($"[red]error:[/] {e.Message}");
            return 1;
        }
        catch (OperationCanceledException)
        {
            AnsiConsole.MarkupLine("[yellow]cancelled; no output was written[/]");
            return 130;
        }
    }

    private static async Task<BatchSummary> ScoreWithProgressAsync(
        ModelLease model, BatchOptions options, ScoreSettings settings, string output, BatchFormat format, TimeProvider time, CancellationToken cancellationToken)
    {
        var input = settings.Input;
        var temporary = output + ".part";
        BatchSummary? summary = null;
        try
        {
            await AnsiConsole.Progress()
                .AutoClear(false)
                .Columns(new TaskDescriptionColumn(), new ProgressBarColumn(), new PercentageColumn(), new RemainingTimeColumn(), new SpinnerColumn())
                .StartAsync(async context =>
                {
                    var task = context.AddTask($"{input.Name}: 0 rows", maxValue: Math.Max(1, input.Length));
                    var started = time.GetTimestamp();
                    var progress = new SynchronousProgress(p =>
                    {
                        var seconds = Math.Max(0.001, time.GetElapsedTime(started).TotalSeconds);
                        task.Value = p.BytesRead;
                        task.Description = $"{input.Name}: {p.Rows:N0} rows ({p.FailedRows:N0} failed), {p.Rows / seconds:N0} rows/s";
                    });

                    await using var target = new FileStream(temporary, FileMode.Create, FileAccess.Write, FileShare.None, 1 << 16, useAsync: true);
                    if (settings.Workers > 1)
                    {
                        // Shards are read as byte ranges of the file, pinned to its content as a drop folder's are.
                        var folder = new LocalFolderBatchStore(input.DirectoryName!);
                        var pinned = await folder.StatAsync(input.Name, cancellationToken) ?? throw new IOException($"{input.FullName} vanished");
                        var workDirectory = Directory.CreateTempSubdirectory("infer-score-").FullName;
                        try
                        {
                            summary = await new ParallelScorer(model, options, new ShardingOptions(), time)
                                .ScoreAsync(folder, pinned, format, target, settings.Workers, workDirectory, progress, cancellationToken);
                            summary = summary with { Input = input.FullName };
                        }
                        finally
                        {
                            Directory.Delete(workDirectory, recursive: true);
                        }
                    }
                    else
                    {
                        await using var source = new FileStream(input.FullName, FileMode.Open, FileAccess.Read, FileShare.Read, 1 << 16, useAsync: true);
                        summary = await new BatchScorer(model, options, time).ScoreAsync(source, target, new BatchJob(input.FullName, $"size:{input.Length};mtime:{input.LastWriteTimeUtc:O}", format), progress, cancellationToken);
                    }

                    task.Value = task.MaxValue;
                });

            File.Move(temporary, output, overwrite: true);
            return summary!;
        }
        finally
        {
            File.Delete(temporary);
        }
    }

    private static void Show(BatchSummary summary)
    {
        var table = new Table().Border(TableBorder.Rounded).HideHeaders().AddColumns("", "");
        table.AddRow("model", Markup.Escape($"{summary.Model} version {summary.ModelVersion}"));
        table.AddRow("rows", $"{summary.RowsIn:N0} in, [green]{summary.RowsOk:N0} ok[/], {(summary.RowsFailed > 0 ? "[red]" : "")}{summary.RowsFailed:N0} failed{(summary.RowsFailed > 0 ? "[/]" : "")}");
        table.AddRow("time", $"{summary.Duration.TotalSeconds:F2} s ({summary.ModelTime.TotalSeconds:F2} s in the model), {summary.RowsPerSecond:N0} rows/s");
        table.AddRow("micro-batch", summary.MicroBatchSize.ToString(System.Globalization.CultureInfo.InvariantCulture));
        table.AddRow("results", Markup.Escape(summary.Output ?? ""));
        AnsiConsole.Write(table);
    }

    /// <summary>Reports on the scoring thread itself: Progress&lt;T&gt; would post to the thread pool and lag behind.</summary>
    private sealed class SynchronousProgress(Action<BatchProgress> report) : IProgress<BatchProgress>
    {
        public void Report(BatchProgress value) => report(value);
    }
}
