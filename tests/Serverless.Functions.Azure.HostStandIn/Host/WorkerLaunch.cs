namespace Serverless.Functions.Azure.HostStandIn.Host;

/// <summary>
/// A worker to start: the app's folder (what the host calls the function app and worker directory: it holds
/// worker.config.json, functions.metadata and host.json) and the app settings, which the host passes to the worker
/// as environment variables.
/// </summary>
internal sealed record WorkerLaunch(string AppDirectory, IReadOnlyDictionary<string, string> Settings);
