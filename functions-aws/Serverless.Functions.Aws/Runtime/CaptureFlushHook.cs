using Serverless.Inference.Monitoring;

namespace Serverless.Functions.Aws.Runtime;

/// <summary>
/// Writes the invocation's buffered prediction capture before the next event is asked for: Lambda may freeze the
/// process then, and a frozen process writes nothing. The capture counts and logs its own failures.
/// </summary>
internal sealed class CaptureFlushHook(PredictionCapture capture) : IInvocationEndHook
{
    public Task OnInvocationEndAsync(LambdaInvocation invocation, CancellationToken cancellationToken) => capture.FlushAsync(cancellationToken);
}
