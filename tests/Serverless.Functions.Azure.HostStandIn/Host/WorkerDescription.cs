using System.Text.Json;

namespace Serverless.Functions.Azure.HostStandIn.Host;

/// <summary>
/// The <c>description</c> of the app's worker.config.json, which the SDK writes and the host reads to start the
/// worker: the executable (<c>dotnet</c>), its arguments and the worker's path, relative to the app's folder.
/// </summary>
internal sealed record WorkerDescription(string Executable, IReadOnlyList<string> Arguments, string WorkerPath)
{
    public const string FileName = "worker.config.json";

    public static WorkerDescription Read(string appDirectory)
    {
        var path = Path.Combine(appDirectory, FileName);
        if (!File.Exists(path))
        {
            throw new FileNotFoundException($"{appDirectory} holds no {FileName}: not a built or published isolated worker app", path);
        }

        using var json = JsonDocument.Parse(File.ReadAllBytes(path));
        var description = json.RootElement.GetProperty("description");
        var executable = description.GetProperty("defaultExecutablePath").GetString()
            ?? throw new InvalidDataException($"{path}: description.defaultExecutablePath is null");
        var worker = description.GetProperty("defaultWorkerPath").GetString()
            ?? throw new InvalidDataException($"{path}: description.defaultWorkerPath is null");
        string[] arguments = description.TryGetProperty("arguments", out var list) && list.ValueKind == JsonValueKind.Array
            ? [.. list.EnumerateArray().Select(a => a.GetString() ?? "")]
            : [];

        // As the host reads it: {WorkerRoot} is the folder of worker.config.json; a bare executable name (dotnet) is
        // found on PATH; the worker's path is relative to the worker's folder.
        var root = Path.TrimEndingDirectorySeparator(appDirectory) + Path.DirectorySeparatorChar;
        return new WorkerDescription(
            executable.Replace("{WorkerRoot}", root, StringComparison.Ordinal),
            arguments,
            Path.Combine(appDirectory, worker.Replace("{WorkerRoot}", root, StringComparison.Ordinal)));
    }
}
