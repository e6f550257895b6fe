using System.Text;
using System.Text.Json;
using Serverless.Inference.Batch;
using Serverless.Inference.Hosting;

namespace Serverless.Inference.Tests.Batch.Support;

/// <summary>What one <see cref="BatchScorer.ScoreAsync"/> call wrote, with readers for both output formats.</summary>
public sealed class Scored
{
    public Scored(byte[] output, BatchSummary summary)
    {
        Output = output;
        Summary = summary;
        Text = Encoding.UTF8.GetString(output);
    }

    public byte[] Output { get; }

    public BatchSummary Summary { get; }

    public string Text { get; }

    /// <summary>The output's lines; every line, the last included, must end with a newline.</summary>
    public IReadOnlyList<string> Lines
    {
        get
        {
            if (Text.Length == 0)
            {
                return [];
            }

            Assert.EndsWith("\n", Text, StringComparison.Ordinal);
            return Text[..^1].Split('\n');
        }
    }

    /// <summary>The JSON lines output, each parsed.</summary>
    public IReadOnlyList<JsonElement> Json => [.. Lines.Select(line => JsonDocument.Parse(line).RootElement.Clone())];

    /// <summary>The CSV output as records of unquoted fields, the header first.</summary>
    public IReadOnlyList<string[]> Csv => CsvText.Parse(Text);

    /// <summary>The CSV output as header name → field maps, one per data row.</summary>
    public IReadOnlyList<IReadOnlyDictionary<string, string>> CsvRecords
    {
        get
        {
            var rows = Csv;
            var header = rows[0];
            return [.. rows.Skip(1).Select(row =>
            {
                Assert.True(row.Length == header.Length, $"a row has {row.Length} fields, the header {header.Length}: {string.Join('|', row)}");
                return (IReadOnlyDictionary<string, string>)header.Zip(row).ToDictionary(p => p.First, p => p.Second, StringComparer.Ordinal);
            })];
        }
    }

    /// <summary>Scores <paramref name="input"/> with a model of the host, from memory into memory.</summary>
    public static async Task<Scored> RunAsync(
        ModelHost host,
        string model,
        byte[] input,
        BatchFormat format,
        BatchOptions? options = null,
        IProgress<BatchProgress>? progress = null,
        CancellationToken cancellationToken = default)
    {
        using var lease = await host.AcquireAsync(model, null, CancellationToken.None);
        using var source = new MemoryStream(input, writable: false);
        using var output = new MemoryStream();
        var summary = await new BatchScorer(lease, options).ScoreAsync(
            source, output, new BatchJob($"input.{format.Extension()}", "test-input", format), progress, cancellationToken);
        return new Scored(output.ToArray(), summary);
    }

    public static Task<Scored> RunAsync(ModelHost host, string model, string input, BatchFormat format, BatchOptions? options = null) =>
        RunAsync(host, model, Encoding.UTF8.GetBytes(input), format, options);

    /// <summary>Asserts the summary's row counts.</summary>
    public Scored AssertCounts(long rowsIn, long rowsOk, long rowsFailed)
    {
        Assert.Equal((rowsIn, rowsOk, rowsFailed), (Summary.RowsIn, Summary.RowsOk, Summary.RowsFailed));
        return this;
    }
}

/// <summary>Reading and writing RFC 4180 text for assertions, independent of the code under test.</summary>
public static class CsvText
{
    public static IReadOnlyList<string[]> Parse(string text)
    {
        var rows = new List<string[]>();
        var fields = new List<string>();
        var field = new StringBuilder();
        var inQuotes = false;
        for (var i = 0; i < text.Length; i++)
        {
            var c = text[i];
            if (inQuotes)
            {
                if (c == '"' && i + 1 < text.Length && text[i + 1] == '"')
                {
                    field.Append('"');
                    i++;
                }
                else if (c == '"')
                {
                    inQuotes = false;
                }
                else
                {
                    field.Append(c);
                }
            }
            else if (c == '"')
            {
                inQuotes = true;
            }
            else if (c == ',')
            {
                fields.Add(field.ToString());
                field.Clear();
            }
            else if (c == '\n')
            {
                fields.Add(field.ToString());
                field.Clear();
                rows.Add([.. fields]);
                fields.Clear();
            }
            else if (c != '\r')
            {
                field.Append(c);
            }
        }

        Assert.False(inQuotes, "the CSV ends inside quotes");
        if (field.Length > 0 || fields.Count > 0)
        {
            fields.Add(field.ToString());
            rows.Add([.. fields]);
        }

        return rows;
    }
}
