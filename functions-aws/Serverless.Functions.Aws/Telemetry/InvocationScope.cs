using System.Diagnostics;
using Serverless.Functions.Aws.Runtime;
using Serverless.Inference.Telemetry;

namespace Serverless.Functions.Aws.Telemetry;

/// <summary>
/// One invocation's telemetry context, from the moment the bootstrap receives the event until its answer is posted:
/// the request id and X-Ray trace that log lines carry, and the invocation's activity, whose parent is the caller's
/// X-Ray segment, so the core's activities (infer, model.load, batch.score) join the caller's trace.
/// </summary>
internal sealed class InvocationScope : IDisposable
{
    public const string ActivityName = "lambda.invocation";

    private static readonly ActivitySource Source = new(TelemetryNames.Invocation);
    private static readonly AsyncLocal<InvocationScope?> CurrentScope = new();

    private readonly InvocationScope? _previous;
    private readonly Activity? _activity;

    private InvocationScope(string requestId, XRayTraceHeader? trace)
    {
        RequestId = requestId;
        Trace = trace;
        _previous = CurrentScope.Value;
        _activity = Source.StartActivity(
            ActivityName,
            ActivityKind.Server,
            trace?.ParentContext ?? default,
            [new("faas.invocation_id", requestId), new("cloud.provider", "aws")]);
        CurrentScope.Value = this;
    }

    /// <summary>The invocation whose work runs on this async flow; null between invocations and during initialisation.</summary>
    public static InvocationScope? Current => CurrentScope.Value;

    public string RequestId { get; }

    /// <summary>The invocation's X-Ray trace; null when Lambda sent none (or an unreadable one).</summary>
    public XRayTraceHeader? Trace { get; }

    public static InvocationScope Enter(LambdaInvocation invocation)
    {
        ArgumentNullException.ThrowIfNull(invocation);
        return new InvocationScope(invocation.RequestId, XRayTraceHeader.TryParse(invocation.TraceId));
    }

    public void Dispose()
    {
        _activity?.Dispose();
        CurrentScope.Value = _previous;
    }
}
