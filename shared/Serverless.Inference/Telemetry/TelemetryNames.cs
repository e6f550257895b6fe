namespace Serverless.Inference.Telemetry;

/// <summary>
/// The meters and activity sources every host exports, listed once so the hosts cannot drift apart. Hosts enable
/// them by name: instruments added to these meters later are exported without touching any host.
/// </summary>
public static class TelemetryNames
{
    /// <summary>The core's meter and activity source: requests, model loads, cold starts, batch rows, refusals.</summary>
    public const string Inference = "Serverless.Inference";

    /// <summary>The activity source a host starts its invocation span on, where the platform does not (Lambda).</summary>
    public const string Invocation = "Serverless.Inference.Invocation";

    /// <summary>.NET's built-in meter: process memory and CPU time, GC, thread pool, exceptions.</summary>
    public const string DotNetRuntime = "System.Runtime";

    /// <summary>The meters every host enables.</summary>
    public static IReadOnlyList<string> Meters { get; } = [Inference, DotNetRuntime];

    /// <summary>ASP.NET Core's server meters (request duration, active requests, connections), for hosts that serve with Kestrel.</summary>
    public static IReadOnlyList<string> AspNetCoreMeters { get; } = ["Microsoft.AspNetCore.Hosting", "Microsoft.AspNetCore.Server.Kestrel"];

    /// <summary>The activity sources every host enables.</summary>
    public static IReadOnlyList<string> ActivitySources { get; } = [Inference, Invocation];
}
