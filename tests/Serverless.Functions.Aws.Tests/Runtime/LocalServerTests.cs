using System.Diagnostics;
using System.Net;
using System.Runtime.InteropServices;

namespace Serverless.Functions.Aws.Tests.Runtime;

/// <summary>Without AWS_LAMBDA_RUNTIME_API the same binary serves the same routes on Kestrel, on loopback.</summary>
public sealed class LocalServerTests
{
    [Fact]
    public async Task Bootstrap_WithoutRuntimeApi_ServesOipOnLoopback()
    {
        var port = FreePort.Next();
        var start = new ProcessStartInfo(BootstrapProcess.BuiltExecutable) { UseShellExecute = false, RedirectStandardOutput = true, RedirectStandardError = true };
        start.Environment.Remove("AWS_LAMBDA_RUNTIME_API");
        start.Environment.Remove("INFERENCE_BUCKET");
        start.Environment["DOTNET_ROOT"] = Path.GetFullPath(Path.Combine(RuntimeEnvironment.GetRuntimeDirectory(), "..", "..", ".."));
        start.Environment["INFERENCE_MODEL_DIR"] = TestModels.Repository;
        start.Environment["INFERENCE_PORT"] = port.ToString(System.Globalization.CultureInfo.InvariantCulture);
        using var process = Process.Start(start)!;
        process.OutputDataReceived += (_, _) => { };
        process.ErrorDataReceived += (_, _) => { };
        process.BeginOutputReadLine();
        process.BeginErrorReadLine();
        try
        {
            using var http = new HttpClient { BaseAddress = new Uri($"http://127.0.0.1:{port}") };
            var ready = await WaitForReadyAsync(http, process);
            using var content = new StringContent(TestModels.IrisInferBody, Encoding.UTF8, "application/json");
            using var infer = await http.PostAsync(new Uri("/v2/models/iris/infer", UriKind.Relative), content);
            using var missing = await http.GetAsync(new Uri("/v2/models/nosuch", UriKind.Relative));

            Assert.Equal(HttpStatusCode.OK, ready);
            Assert.Equal(HttpStatusCode.OK, infer.StatusCode);
            Assert.Contains("setosa", await infer.Content.ReadAsStringAsync(), StringComparison.Ordinal);
            Assert.Equal(HttpStatusCode.NotFound, missing.StatusCode);
        }
        finally
        {
            process.Kill(entireProcessTree: true);
            await process.WaitForExitAsync();
        }
    }

    private static async Task<HttpStatusCode> WaitForReadyAsync(HttpClient http, Process process)
    {
        var deadline = DateTime.UtcNow.AddSeconds(60);
        while (true)
        {
            Assert.False(process.HasExited, "the local server exited");
            try
            {
                using var response = await http.GetAsync(new Uri("/v2/health/ready", UriKind.Relative));
                return response.StatusCode;
            }
            catch (HttpRequestException) when (DateTime.UtcNow < deadline)
            {
                await Task.Delay(100);
            }
        }
    }
}
