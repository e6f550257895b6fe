using System.Diagnostics;

namespace Serverless.Inference.Benchmarks.Harness;

/// <summary>
/// A child process fed lines on its standard input, whose answer lines are timed as they come off its standard
/// output: line i written is matched with the i-th answer line read (lines <paramref name="skip"/> says are not
/// answers, such as alerts, are left out), so it fits any command that answers every line once, in order.
/// </summary>
internal sealed class LinePipe : IAsyncDisposable
{
    private readonly Process _process;
    private readonly Func<string, bool> _skip;
    private readonly Task _reading;
    private readonly List<long> _written = [];
    private readonly List<long> _read = [];
    private readonly SemaphoreSlim _answered = new(0);

    private LinePipe(Process process, Func<string, bool> skip)
    {
        _process = process;
        _skip = skip;
        _reading = Task.Run(ReadAnswersAsync);
        _ = Task.Run(() => process.StandardError.ReadToEndAsync());
    }

    public int ProcessId => _process.Id;

    public static LinePipe Start(string fileName, IEnumerable<string> arguments, Func<string, bool>? skip = null)
    {
        var info = new ProcessStartInfo(fileName)
        {
            RedirectStandardInput = true,
            RedirectStandardOutput = true,
            RedirectStandardError = true,
            UseShellExecute = false,
        };
        foreach (var argument in arguments)
        {
            info.ArgumentList.Add(argument);
        }

        return new LinePipe(Process.Start(info) ?? throw new InvalidOperationException($"{fileName} did not start"), skip ?? (_ => false));
    }

    /// <summary>Writes one line and flushes it, noting when.</summary>
    public async Task WriteAsync(string line)
    {
        lock (_written)
        {
            _written.Add(Stopwatch.GetTimestamp());
        }

        await _process.StandardInput.WriteLineAsync(line);
        await _process.StandardInput.FlushAsync();
    }

    /// <summary>Waits until <paramref name="count"/> answers in all have been read.</summary>
    public async Task WaitForAnswersAsync(int count, TimeSpan guard)
    {
        using var timeout = new CancellationTokenSource(guard);
        while (Answers < count)
        {
            await _answered.WaitAsync(timeout.Token);
        }
    }

    public int Answers
    {
        get
        {
            lock (_read)
            {
                return _read.Count;
            }
        }
    }

    /// <summary>Milliseconds from line i written to answer i read, for the lines from <paramref name="first"/> on that have answers.</summary>
    public List<double> Latencies(int first)
    {
        lock (_written)
        {
            lock (_read)
            {
                return [.. Enumerable.Range(first, Math.Min(_written.Count, _read.Count) - first)
                    .Select(i => Stopwatch.GetElapsedTime(_written[i], _read[i]).TotalMilliseconds)];
            }
        }
    }

    /// <summary>The child's resident set in MiB (VmRSS from /proc), or null off Linux.</summary>
    public double? ResidentMiB()
    {
        var status = $"/proc/{_process.Id}/status";
        if (!File.Exists(status))
        {
            return null;
        }

        var line = File.ReadLines(status).FirstOrDefault(l => l.StartsWith("VmRSS:", StringComparison.Ordinal));
        return line is null ? null : long.Parse(line.Split(' ', StringSplitOptions.RemoveEmptyEntries)[1], System.Globalization.CultureInfo.InvariantCulture) / 1024.0;
    }

    public async ValueTask DisposeAsync()
    {
        _process.StandardInput.Close();
        using var timeout = new CancellationTokenSource(TimeSpan.FromSeconds(30));
        try
        {
            await _process.WaitForExitAsync(timeout.Token);
        }
        catch (OperationCanceledException)
        {
            _process.Kill(entireProcessTree: true);
        }

        await _reading;
        _process.Dispose();
        _answered.Dispose();
    }

    private async Task ReadAnswersAsync()
    {
        while (await _process.StandardOutput.ReadLineAsync() is { } line)
        {
            if (_skip(line))
            {
                continue;
            }

            lock (_read)
            {
                _read.Add(Stopwatch.GetTimestamp());
            }

            _answered.Release();
        }
    }
}
