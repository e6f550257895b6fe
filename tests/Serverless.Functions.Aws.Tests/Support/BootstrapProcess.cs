using System.Diagnostics;
using System.Runtime.InteropServices;

namespace Serverless.Functions.Aws.Tests.Support;

/// <summary>The real bootstrap executable as a child process, as Lambda starts it: only the environment tells it where it is.</summary>
public sealed class BootstrapProcess : IAsyncDisposable
{
    private readonly Process _process;
    private readonly StringBuilder _output = new();

    private BootstrapProcess(Process process)
    {
        _process = process;
    }

    /// <summary>
    /// The JIT build's apphost, copied into this test project's output by the project reference; or the binary
    /// AWS_BOOTSTRAP_EXECUTABLE names (the Native AOT publish), so the same tests can run against it.
    /// </summary>
    public static string BuiltExecutable =>
        Environment.GetEnvironmentVariable("AWS_BOOTSTRAP_EXECUTABLE") is { Length: > 0 } executable
            ? Path.GetFullPath(executable)
            : Path.Combine(AppContext.BaseDirectory, "bootstrap");

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

    public bool HasExited => _process.HasExited;

    public static BootstrapProcess Start(string runtimeApi, IReadOnlyDictionary<string, string> environment, string? executable = null)
    {
        var start = new ProcessStartInfo(executable ?? BuiltExecutable)
        {
            RedirectStandardOutput = true,
            RedirectStandardError = true,
            UseShellExecute = false,
            WorkingDirectory = Path.GetTempPath(),
        };
        foreach (var name in new[]
        {
            "AWS_LAMBDA_RUNTIME_API", "INFERENCE_BUCKET", "INFERENCE_WARMUP_MODELS", "INFERENCE_MODEL_DIR", "AWS_ENDPOINT_URL_S3", "AWS_ENDPOINT_URL_SQS", "AWS_ENDPOINT_URL",
            LambdaContract.ShardQueueUrlVariable, LambdaContract.ShardDeadLetterQueueUrlVariable, LambdaContract.RowsPerShardVariable,
            LambdaContract.StreamModelVariable, LambdaContract.StreamModelVersionVariable, LambdaContract.AlertQueueUrlVariable,
        })
        {
            start.Environment.Remove(name);
        }

        // The apphost finds the runtime the tests run on (CI machines may not install it where the apphost looks first).
        start.Environment["DOTNET_ROOT"] = Path.GetFullPath(Path.Combine(RuntimeEnvironment.GetRuntimeDirectory(), "..", "..", ".."));
        start.Environment["AWS_LAMBDA_RUNTIME_API"] = runtimeApi;
        start.Environment["AWS_LAMBDA_FUNCTION_NAME"] = "inference";
        start.Environment["AWS_REGION"] = "us-east-1";
        foreach (var (name, value) in environment)
        {
            start.Environment[name] = value;
        }

        var process = new Process { StartInfo = start };
        var bootstrap = new BootstrapProcess(process);
        process.OutputDataReceived += (_, line) => bootstrap.Append(line.Data);
        process.ErrorDataReceived += (_, line) => bootstrap.Append(line.Data);
        process.Start();
        process.BeginOutputReadLine();
        process.BeginErrorReadLine();
        return bootstrap;
    }

    public async Task<int> WaitForExitAsync(TimeSpan timeout)
    {
        using var cancel = new CancellationTokenSource(timeout);
        await _process.WaitForExitAsync(cancel.Token);
        return _process.ExitCode;
    }

    public async ValueTask DisposeAsync()
    {
        if (!_process.HasExited)
        {
            _process.Kill(entireProcessTree: true);
            await _process.WaitForExitAsync();
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
            _output.AppendLine(line);
        }
    }
}
