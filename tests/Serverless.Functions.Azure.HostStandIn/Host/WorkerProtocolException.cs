namespace Serverless.Functions.Azure.HostStandIn.Host;

/// <summary>The worker broke the protocol, answered a request with a failure, or exited; the message says which, with its output.</summary>
internal sealed class WorkerProtocolException : Exception
{
    public WorkerProtocolException()
    {
    }

    public WorkerProtocolException(string message)
        : base(message)
    {
    }

    public WorkerProtocolException(string message, Exception innerException)
        : base(message, innerException)
    {
    }
}
