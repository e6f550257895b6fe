using System.Diagnostics;
using System.Text;

namespace Serverless.Inference.Tests.Cli;

/// <summary>
/// A command started as a user starts it, in its own process with its console redirected (as a terminal 80
/// columns wide is, to Spectre), in a working directory of the test's choosing; killed on dispose.
/// </summary>
internal sealed class InferProcess : IDisposable
{
    private readonly Process _process;
    private readonly StringBuilder _output = new();

    private InferProcess(Process process)
    {
        _process = process;
        _process.OutputDataReceived += (_, e) => Append(e.Data);
        _process.ErrorDataReceived += (_, e) => Append(e.Data);
        _process.BeginOutputReadLine();
        _process.BeginErrorReadLine();
    }

    /// <summary>The apphost the build lays out beside the tests, with the sample models beside it.</summary>
    public static string Infer { get; } = Path.Combine(AppContext.BaseDirectory, OperatingSystem.IsWindows() ? "infer.exe" : "infer");

    /// <summary>Standard output and error, interleaved as they arrived.</summary>
    public string Output
    {
        get
        {
            lock (_output)
            {
                return _output.ToString();
            }
        }
    }

    public static InferProcess Start(string workingDirectory, string fileName, params string[] arguments) =>
        Start(new Dictionary<string, string>(), workingDirectory, fileName, arguments);

    /// <param name="environment">Variables set for the command on top of the test's own.</param>
    public static InferProcess Start(IReadOnlyDictionary<string, string> environment, string workingDirectory, string fileName, params string[] arguments)
    {
        var start = new ProcessStartInfo(fileName)
        {
            WorkingDirectory = workingDirectory,
            RedirectStandardOutput = true,
            RedirectStandardError = true,
            UseShellExecute = false,
        };
        foreach (var (name, value) in environment)
        {
            start.Environment[name] = value;
        }

        foreach (var argument in arguments)
        {
            start.ArgumentList.Add(argument);
        }

        return new InferProcess(Process.Start(start) ?? throw new InvalidOperationException($"{fileName} did not start"));
    }

    public async Task<int> WaitForExitAsync(TimeSpan guard)
    {
        using var timeout = new CancellationTokenSource(guard);
        await _process.WaitForExitAsync(timeout.Token);
        return _process.ExitCode;
    }

    /// <summary>Waits until the output holds <paramref name="text"/>; fails with the output so far if the process ends first.</summary>
    public async Task WaitForOutputAsync(string text, TimeSpan guard)
    {
        var deadline = DateTime.UtcNow + guard;
        while (!Output.Contains(text, StringComparison.Ordinal))
        {
            Assert.False(_process.HasExited, $"exited with {(_process.HasExited ? _process.ExitCode : 0)} before printing '{text}':\n{Output}");
            Assert.True(DateTime.UtcNow < deadline, $"no '{text}' in {guard}:\n{Output}");
            await Task.Delay(100);
        }
    }

    public void Dispose()
    {
        if (!_process.HasExited)
        {
            _process.Kill(entireProcessTree: true);
            _process.WaitForExit();
        }

        _process.Dispose();
    }

    private void Append(string? line)
    {
        if (line is null)
        {
            return;
        }

        lock (_output)
        {
            _output.Append(line).Append('\n');
        }
    }
}
