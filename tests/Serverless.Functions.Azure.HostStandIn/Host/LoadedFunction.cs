using Microsoft.Azure.WebJobs.Script.Grpc.Messages;

namespace Serverless.Functions.Azure.HostStandIn.Host;

/// <summary>A function the worker indexed and then loaded: its id, name and bindings, as the worker described them.</summary>
internal sealed record LoadedFunction(string Id, string Name, IReadOnlyDictionary<string, BindingInfo> Bindings)
{
    /// <summary>The name of its HTTP trigger binding, which an invocation's input data is keyed by; null if it has none.</summary>
    public string? HttpTriggerBinding =>
        Bindings.FirstOrDefault(b => b.Value.Direction == BindingInfo.Types.Direction.In
            && string.Equals(b.Value.Type, "httpTrigger", StringComparison.OrdinalIgnoreCase)).Key;
}
