using System.Globalization;
using System.Net;
using System.Net.Sockets;
using System.Reflection;
using Serverless.Infer.Cli;

namespace Serverless.Inference.Tests.Cli;

/// <summary><c>infer serve</c> (and <c>dotnet run</c> of it) as a newcomer meets it: its console output and exit code.</summary>
public sealed class ServeCommandTests : IDisposable
{
    /// <summary>A guard against a test hanging forever; never a timing assertion.</summary>
    private static readonly TimeSpan HangGuard = TimeSpan.FromMinutes(2);

    private readonly string _folder = Directory.CreateTempSubdirectory("serve-tests-").FullName;

    public void Dispose() => Directory.Delete(_folder, recursive: true);

    [Fact]
    public void Example_HighestPort_EveryLineFitsEightyColumns()
    {
        Assert.All(ServeCommand.Example("http://127.0.0.1:65535"), line => Assert.True(line.Length < 80, line));
    }

    [Fact]
    public async Task Serve_TryExample_RunsAsPrinted()
    {
        var port = FreePort();
        using var serve = InferProcess.Start(_folder, InferProcess.Infer, "serve", "--port", port);
        await serve.WaitForOutputAsync("}]}'", HangGuard);

        var lines = serve.Output.Split('\n');
        var example = lines.SkipWhile(line => line != "Try:").Skip(1).TakeWhile(line => line.Length > 0).ToList();
        Assert.Equal(3, example.Count);
        Assert.All(example, line => Assert.True(line.Length < 80, line));
        // What a shell makes of the copied lines: curl, the URL, -d and one single-quoted argument across the lines.
        var command = string.Join('\n', example).Trim();
        var url = command["curl ".Length..command.IndexOf(" -d '", StringComparison.Ordinal)];
        var body = command[(command.IndexOf('\'', StringComparison.Ordinal) + 1)..command.LastIndexOf('\'')];
        Assert.Equal($"http://127.0.0.1:{port}/v2/models/iris/infer", url);
        using var http = new HttpClient();
        using var response = await http.PostAsync(new Uri(url), new StringContent(body));
        Assert.Equal(HttpStatusCode.OK, response.StatusCode);
        Assert.Contains("\"setosa\"", await response.Content.ReadAsStringAsync(), StringComparison.Ordinal);
    }

    [Fact]
    public async Task Serve_PortInUse_OneLineNoStackTraceExitOne()
    {
        using var taken = new TcpListener(IPAddress.Loopback, 0);
        taken.Start();
        var port = ((IPEndPoint)taken.LocalEndpoint).Port.ToString(CultureInfo.InvariantCulture);

        // The default drop folder (./batch): its watcher and shard workers start before Kestrel fails to bind.
        using var serve = InferProcess.Start(_folder, InferProcess.Infer, "serve", "--port", port);
        var exit = await serve.WaitForExitAsync(HangGuard);

        Assert.Equal(1, exit);
        Assert.Contains($"\nerror: port {port} on 127.0.0.1 is in use; choose another with --port\n", "\n" + serve.Output, StringComparison.Ordinal);
        Assert.DoesNotContain("Exception", serve.Output, StringComparison.Ordinal);
        Assert.DoesNotContain(" at ", serve.Output, StringComparison.Ordinal);
        Assert.DoesNotContain("fail:", serve.Output, StringComparison.Ordinal);
    }

    [Fact]
    public async Task DotnetRun_RelativePaths_ResolveAgainstTheCallersFolder()
    {
        CopyIris(Path.Combine(_folder, "mine", "iris"));
        var configuration = typeof(ServeCommandTests).Assembly.GetCustomAttribute<AssemblyConfigurationAttribute>()!.Configuration;
        var dotnet = Environment.GetEnvironmentVariable("DOTNET_HOST_PATH") is { Length: > 0 } host ? host : "dotnet";

        // As the README runs it (the project given by path), from another folder, with a relative repository.
        using var run = InferProcess.Start(_folder, dotnet, "run", "--no-build", "-c", configuration, "--project", CliProject, "--", "models", "--repository", "mine");
        var exit = await run.WaitForExitAsync(HangGuard);

        Assert.True(exit == 0, run.Output);
        Assert.Contains("iris", run.Output, StringComparison.Ordinal);
    }

    private static string CliProject =>
        Path.Combine(
            typeof(ServeCommandTests).Assembly.GetCustomAttributes<AssemblyMetadataAttribute>().Single(a => a.Key == "RepositoryRoot").Value!,
            "shared", "Serverless.Infer.Cli", "Serverless.Infer.Cli.csproj");

    private static void CopyIris(string target)
    {
        var source = Path.Combine(AppContext.BaseDirectory, "models", "iris");
        foreach (var file in Directory.EnumerateFiles(source, "*", SearchOption.AllDirectories))
        {
            var copy = Path.Combine(target, Path.GetRelativePath(source, file));
            Directory.CreateDirectory(Path.GetDirectoryName(copy)!);
            File.Copy(file, copy);
        }
    }

    private static string FreePort()
    {
        using var probe = new TcpListener(IPAddress.Loopback, 0);
        probe.Start();
        return ((IPEndPoint)probe.LocalEndpoint).Port.ToString(CultureInfo.InvariantCulture);
    }
}
