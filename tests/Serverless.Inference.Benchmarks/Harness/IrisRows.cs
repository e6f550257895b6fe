using System.Globalization;
using System.Text;
using Serverless.Inference.Batch;

namespace Serverless.Inference.Benchmarks.Harness;

/// <summary>
/// Iris-like rows from a fixed seed: a species at random, then each measurement drawn from that species'
/// normal distribution (Fisher's means and deviations) and kept in tenths of a cm, so the files carry
/// one decimal and the floats a baseline runs on are exactly what parsing the text gives.
/// </summary>
internal sealed class IrisRows(int seed)
{
    public const int Width = 4;

    /// <summary>The CSV header the iris manifest maps onto its input Features.</summary>
    public const string CsvHeader = "sepal_length,sepal_width,petal_length,petal_width";

    // (mean, standard deviation) in cm of sepal length, sepal width, petal length, petal width for setosa, versicolor, virginica.
    private static readonly (double Mean, double Sd)[][] Species =
    [
        [(5.006, 0.352), (3.428, 0.379), (1.462, 0.174), (0.246, 0.105)],
        [(5.936, 0.516), (2.770, 0.314), (4.260, 0.470), (1.326, 0.198)],
        [(6.588, 0.636), (2.974, 0.322), (5.552, 0.552), (2.026, 0.275)],
    ];

    private readonly Random _random = new(seed);

    /// <summary>The next row's four measurements, in tenths of a cm (at least 1).</summary>
    public void Next(Span<int> tenths)
    {
        var species = Species[_random.Next(Species.Length)];
        for (var i = 0; i < Width; i++)
        {
            // Box-Muller: one standard normal from two uniforms.
            var normal = Math.Sqrt(-2 * Math.Log(1 - _random.NextDouble())) * Math.Cos(2 * Math.PI * _random.NextDouble());
            tenths[i] = Math.Max(1, (int)Math.Round((species[i].Mean + (normal * species[i].Sd)) * 10));
        }
    }

    /// <summary>The float a row value parses to: tenths / 10 is correctly rounded, as float.Parse of "x.y" is.</summary>
    public static float ToFloat(int tenths) => tenths / 10f;

    /// <summary>
    /// Writes rows (fixed seed) to any number of files at once, streaming through a small buffer per file,
    /// so generating never holds a file in memory. Each sink takes the first <c>Rows</c> rows.
    /// </summary>
    public static void WriteFiles(int seed, IReadOnlyList<RowFile> files, float[]? features = null)
    {
        ArgumentNullException.ThrowIfNull(files);
        var rows = files.Count == 0 ? 0 : files.Max(f => f.Rows);
        rows = Math.Max(rows, features is null ? 0 : features.Length / Width);
        var source = new IrisRows(seed);
        var writers = files.Select(f => new RowFileWriter(f.Path, f.Format)).ToArray();
        try
        {
            Span<int> row = stackalloc int[Width];
            for (var r = 0; r < rows; r++)
            {
                source.Next(row);
                for (var w = 0; w < writers.Length; w++)
                {
                    if (r < files[w].Rows)
                    {
                        writers[w].Write(row);
                    }
                }

                if (features is not null && (r + 1) * Width <= features.Length)
                {
                    for (var i = 0; i < Width; i++)
                    {
                        features[(r * Width) + i] = ToFloat(row[i]);
                    }
                }
            }
        }
        finally
        {
            foreach (var writer in writers)
            {
                writer.Dispose();
            }
        }
    }
}

internal sealed record RowFile(string Path, BatchFormat Format, int Rows);

/// <summary>One CSV or JSONL file of rows, written as it goes through a 64 KiB FileStream buffer.</summary>
internal sealed class RowFileWriter : IDisposable
{
    private readonly FileStream _file;
    private readonly BatchFormat _format;
    private readonly byte[] _line = new byte[128];

    public RowFileWriter(string path, BatchFormat format)
    {
        _file = new FileStream(path, FileMode.CreateNew, FileAccess.Write, FileShare.None, 1 << 16);
        _format = format;
        if (format == BatchFormat.Csv)
        {
            _file.Write(Encoding.UTF8.GetBytes(IrisRows.CsvHeader + "\n"));
        }
    }

    /// <summary>CSV <c>5.1,3.5,1.4,0.2</c> or JSONL <c>{"Features":[5.1,3.5,1.4,0.2]}</c>.</summary>
    public void Write(ReadOnlySpan<int> tenths)
    {
        var span = _line.AsSpan();
        var n = 0;
        if (_format == BatchFormat.Jsonl)
        {
            n += Append(span, n, "{\"Features\":["u8);
        }

        for (var i = 0; i < tenths.Length; i++)
        {
            if (i > 0)
            {
                span[n++] = (byte)',';
            }

            (tenths[i] / 10).TryFormat(span[n..], out var written, default, CultureInfo.InvariantCulture);
            n += written;
            span[n++] = (byte)'.';
            span[n++] = (byte)('0' + (tenths[i] % 10));
        }

        if (_format == BatchFormat.Jsonl)
        {
            n += Append(span, n, "]}"u8);
        }

        span[n++] = (byte)'\n';
        _file.Write(span[..n]);
    }

    public void Dispose() => _file.Dispose();

    private static int Append(Span<byte> span, int at, ReadOnlySpan<byte> text)
    {
        text.CopyTo(span[at..]);
        return text.Length;
    }
}
