namespace Serverless.Infer.Cli.Monitor;

/// <summary>A mistake in what the user asked for or pointed at, reported as one line and an exit code, never a stack trace.</summary>
internal sealed class MonitorException : Exception
{
    public MonitorException(int exitCode, string message)
        : base(message)
    {
        ExitCode = exitCode;
    }

    public MonitorException()
    {
    }

    public MonitorException(string message)
        : base(message)
    {
    }

    public MonitorException(string message, Exception innerException)
        : base(message, innerException)
    {
    }

    public int ExitCode { get; } = MonitorExitCodes.Unreadable;
}
