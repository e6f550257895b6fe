using System.Text.Json;
using Serverless.Inference.Streaming;

namespace Serverless.Infer.Cli;

/// <summary>
/// Where <c>infer stream</c> writes: prediction lines to standard output as the scorer made them, and each alert as
/// one JSON line, to its own file when there is one, else among the predictions marked as <c>{"alert":{...}}</c>
/// (right after its record's prediction). Everything is flushed once per batch, so a reader sees a batch as soon as it
/// is scored.
/// </summary>
internal sealed class StreamOutput(Stream predictions, Stream? alerts) : IAsyncDisposable
{
    private readonly MemoryStream _alertLine = new();
    private readonly Utf8JsonWriter _json = new(Stream.Null);

    public async Task WritePredictionAsync(ReadOnlyMemory<byte> line, CancellationToken cancellationToken)
    {
        await predictions.WriteAsync(line, cancellationToken);
        if (line.Length == 0 || line.Span[^1] != (byte)'\n')
        {
            predictions.WriteByte((byte)'\n');
        }
    }

    public async Task WriteAlertAsync(StreamAlert alert, CancellationToken cancellationToken)
    {
        _alertLine.SetLength(0);
        _json.Reset(_alertLine);
        var marked = alerts is null;
        if (marked)
        {
            _json.WriteStartObject();
            _json.WritePropertyName("alert"u8);
        }

        alert.WriteTo(_json);
        if (marked)
        {
            _json.WriteEndObject();
        }

        await _json.FlushAsync(cancellationToken);
        _alertLine.WriteByte((byte)'\n');
        await (alerts ?? predictions).WriteAsync(_alertLine.GetBuffer().AsMemory(0, (int)_alertLine.Length), cancellationToken);
    }

    public async Task FlushAsync(CancellationToken cancellationToken)
    {
        await predictions.FlushAsync(cancellationToken);
        if (alerts is not null)
        {
            await alerts.FlushAsync(cancellationToken);
        }
    }

    public async ValueTask DisposeAsync()
    {
        await FlushAsync(CancellationToken.None);
        await _json.DisposeAsync();
        await _alertLine.DisposeAsync();
    }
}
