namespace Serverless.Infer.Cli;

/// <summary>Silences the host's own error log while <c>serve</c> starts it, since serve reports a failed start itself.</summary>
internal sealed class StartupLog
{
    /// <summary>The category the generic host logs a failed start under.</summary>
    public const string HostCategory = "Microsoft.Extensions.Hosting.Internal.Host";

    private volatile bool _quiet;

    public bool Quiet
    {
        get => _quiet;
        set => _quiet = value;
    }
}
