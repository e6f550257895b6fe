using System.Globalization;
using System.Text.Json;
using System.Text.Unicode;

namespace Serverless.Infer.Cli.Monitor;

/// <summary>
/// Reads one object of a source line by line into a <see cref="SourceProfile"/>. A JSON line is a capture record
/// (it has "time" and "inputs"/"outputs"), a batch result line (it has "line" and "outputs", "error" or "response")
/// or a training record (its properties are the model's inputs; "id" names it). A CSV object is training data with
/// a header: its columns are the inputs, flattened as capture names them (<c>Features[0]</c>), "id" names the row.
/// </summary>
internal sealed class RecordReader(SourceProfile profile, RecordFilter filter, LabelAccuracy? labels)
{
    private static readonly JsonDocumentOptions DocumentOptions = new() { MaxDepth = 16 };

    public async Task ReadAsync(string name, Stream stream, CancellationToken cancellationToken)
    {
        profile.Objects++;
        var reader = new LineReader(stream);
        if (name.EndsWith(".csv", StringComparison.OrdinalIgnoreCase))
        {
            await ReadCsvAsync(name, reader, cancellationToken);
            return;
        }

        while (await reader.ReadAsync(cancellationToken) is { } line)
        {
            if (line.TooLong)
            {
                profile.CountMalformed($"{name}:{reader.LineNumber}", $"longer than {LineReader.MaxLineBytes:N0} bytes");
            }
            else if (!line.Bytes.Span.Trim(" \t"u8).IsEmpty)
            {
                ReadJson(line.Bytes, $"{name}:{reader.LineNumber}");
            }
        }
    }

    private void ReadJson(ReadOnlyMemory<byte> line, string where)
    {
        if (!Utf8.IsValid(line.Span))
        {
            profile.CountMalformed(where, "not valid UTF-8");
            return;
        }

        JsonDocument document;
        try
        {
            document = JsonDocument.Parse(line, DocumentOptions);
        }
        catch (JsonException e)
        {
            profile.CountMalformed(where, "not JSON: " + e.Message);
            return;
        }

        using (document)
        {
            var record = document.RootElement;
            if (record.ValueKind != JsonValueKind.Object)
            {
                profile.CountMalformed(where, "not a JSON object");
            }
            else if (record.TryGetProperty("time", out var time) && (record.TryGetProperty("inputs", out _) || record.TryGetProperty("outputs", out _)))
            {
                ReadCapture(record, time, where);
            }
            else if (record.TryGetProperty("line", out var number) && number.ValueKind == JsonValueKind.Number)
            {
                ReadBatchResult(record, number, where);
            }
            else
            {
                ReadTraining(record);
            }
        }
    }

    private void ReadCapture(JsonElement record, JsonElement timeValue, string where)
    {
        if (timeValue.ValueKind != JsonValueKind.String
            || !DateTimeOffset.TryParse(timeValue.GetString(), CultureInfo.InvariantCulture, DateTimeStyles.AssumeUniversal, out var time))
        {
            profile.CountMalformed(where, "\"time\" is not a date and time");
            return;
        }

        var inputs = record.TryGetProperty("inputs", out var i) ? i : default;
        var outputs = record.TryGetProperty("outputs", out var o) ? o : default;
        if (inputs.ValueKind is not (JsonValueKind.Undefined or JsonValueKind.Object) || outputs.ValueKind is not (JsonValueKind.Undefined or JsonValueKind.Object))
        {
            profile.CountMalformed(where, "\"inputs\" and \"outputs\" must be objects");
            return;
        }

        if (!filter.Admits(Text(record, "model"), Text(record, "version"), time))
        {
            profile.CountSkipped();
            return;
        }

        profile.CountRecord(time);
        if (inputs.ValueKind == JsonValueKind.Object)
        {
            profile.ObserveObject(FeatureGroup.Input, inputs);
        }

        if (outputs.ValueKind == JsonValueKind.Object)
        {
            profile.ObserveObject(FeatureGroup.Output, outputs);
            labels?.Observe(Text(record, "id"), time, outputs);
        }
    }

    private void ReadBatchResult(JsonElement record, JsonElement number, string where)
    {
        if (!record.TryGetProperty("outputs", out var outputs))
        {
            if (record.TryGetProperty("error", out _) || record.TryGetProperty("response", out _))
            {
                profile.CountNotRow();
            }
            else
            {
                profile.CountMalformed(where, "a batch result line has \"outputs\", \"error\" or \"response\"");
            }

            return;
        }

        if (outputs.ValueKind != JsonValueKind.Object)
        {
            profile.CountMalformed(where, "\"outputs\" must be an object");
            return;
        }

        profile.CountRecord(null);
        profile.ObserveObject(FeatureGroup.Output, outputs);
        // A batch result names its row by its line in the input file.
        labels?.Observe(number.GetRawText(), null, outputs);
    }

    private void ReadTraining(JsonElement record)
    {
        profile.CountRecord(null);
        foreach (var property in record.EnumerateObject())
        {
            if (property.Name != "id")
            {
                profile.Observe(FeatureGroup.Input, property.Name, property.Value);
            }
        }
    }

    private async Task ReadCsvAsync(string name, LineReader reader, CancellationToken cancellationToken)
    {
        List<string>? header = null;
        while (await reader.ReadAsync(cancellationToken) is { } line)
        {
            var where = $"{name}:{reader.LineNumber}";
            if (line.TooLong)
            {
                profile.CountMalformed(where, $"longer than {LineReader.MaxLineBytes:N0} bytes");
                continue;
            }

            if (line.Bytes.IsEmpty)
            {
                continue;
            }

            var fields = CsvLine.Split(line.Bytes.Span);
            if (fields is null)
            {
                profile.CountMalformed(where, "not valid UTF-8, or a quote left open");
            }
            else if (header is null)
            {
                header = fields;
            }
            else if (fields.Count != header.Count)
            {
                profile.CountMalformed(where, $"{fields.Count} fields where the header has {header.Count}");
            }
            else
            {
                profile.CountRecord(null);
                for (var i = 0; i < fields.Count; i++)
                {
                    ObserveCsv(header[i], fields[i]);
                }
            }
        }
    }

    private void ObserveCsv(string column, string value)
    {
        if (column == "id" || value.Length == 0)
        {
            return;
        }

        if (double.TryParse(value, NumberStyles.Float, CultureInfo.InvariantCulture, out var number))
        {
            profile.ObserveNumber(FeatureGroup.Input, column, number);
        }
        else
        {
            profile.ObserveString(FeatureGroup.Input, column, value, value.Length);
        }
    }

    private static string? Text(JsonElement record, string name) =>
        record.TryGetProperty(name, out var value) && value.ValueKind == JsonValueKind.String ? value.GetString() : null;
}
