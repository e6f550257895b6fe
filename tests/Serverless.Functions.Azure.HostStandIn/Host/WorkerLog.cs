namespace Serverless.Functions.Azure.HostStandIn.Host;

/// <summary>A log line the worker sent over the stream (RpcLog), with when it arrived, from the worker's process start.</summary>
internal sealed record WorkerLog(TimeSpan At, string Category, string Level, string Message);
