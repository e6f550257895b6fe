using System.Diagnostics;
using Amazon.Runtime;
using Amazon.S3;
using Amazon.SQS;
using Serverless.Tests.Support;

namespace Serverless.Functions.Aws.Tests.Support;

/// <summary>moto's S3 + SQS server on 127.0.0.1 and a free port, for one test class; stopped at the end.</summary>
public sealed class MotoServer : IAsyncLifetime
{
    public const string Region = "us-east-1";

    private Process? _process;

    public string ServiceUrl { get; private set; } = string.Empty;

    public static BasicAWSCredentials Credentials { get; } = new("testing", "testing");

    /// <summary>The variables a bootstrap process needs to reach this server.</summary>
    public IReadOnlyDictionary<string, string> Environment => new Dictionary<string, string>
    {
        ["AWS_ENDPOINT_URL_S3"] = ServiceUrl,
        ["AWS_ACCESS_KEY_ID"] = "testing",
        ["AWS_SECRET_ACCESS_KEY"] = "testing",
        ["AWS_REGION"] = Region,
    };

    public async Task InitializeAsync()
    {
        var port = FreePort.Next();
        ServiceUrl = $"http://127.0.0.1:{port}";
        var start = new ProcessStartInfo(PythonTools.MotoServer, ["-H", "127.0.0.1", "-p", port.ToString(System.Globalization.CultureInfo.InvariantCulture)])
        {
            RedirectStandardOutput = true,
            RedirectStandardError = true,
            UseShellExecute = false,
        };
        _process = Process.Start(start) ?? throw new InvalidOperationException($"{PythonTools.MotoServer} did not start");
        _process.OutputDataReceived += (_, _) => { };
        _process.ErrorDataReceived += (_, _) => { };
        _process.BeginOutputReadLine();
        _process.BeginErrorReadLine();

        using var http = new HttpClient { Timeout = TimeSpan.FromSeconds(2) };
        var deadline = DateTime.UtcNow.AddSeconds(30);
        while (true)
        {
            if (_process.HasExited)
            {
                throw new InvalidOperationException($"moto_server exited with {_process.ExitCode}");
            }

            try
            {
                using var response = await http.GetAsync(new Uri(ServiceUrl + "/moto-api/"));
                if (response.IsSuccessStatusCode)
                {
                    return;
                }
            }
            catch (HttpRequestException) when (DateTime.UtcNow < deadline)
            {
            }
            catch (TaskCanceledException) when (DateTime.UtcNow < deadline)
            {
            }

            await Task.Delay(200);
        }
    }

    public async Task DisposeAsync()
    {
        if (_process is { HasExited: false })
        {
            _process.Kill(entireProcessTree: true);
            await _process.WaitForExitAsync();
        }

        _process?.Dispose();
    }

    public AmazonS3Client CreateS3() =>
        new(Credentials, new AmazonS3Config { ServiceURL = ServiceUrl, ForcePathStyle = true, AuthenticationRegion = Region });

    public AmazonSQSClient CreateSqs() =>
        new(Credentials, new AmazonSQSConfig { ServiceURL = ServiceUrl, AuthenticationRegion = Region });
}
