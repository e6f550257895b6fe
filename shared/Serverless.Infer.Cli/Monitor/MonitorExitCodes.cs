namespace Serverless.Infer.Cli.Monitor;

/// <summary><c>infer monitor</c>'s exit codes, as its help lists them.</summary>
internal static class MonitorExitCodes
{
    /// <summary>Reports written; no feature passed a threshold and accuracy, when asked, is above the minimum.</summary>
    public const int Ok = 0;

    /// <summary>A source, the labels file or the output folder could not be read or written; or the command line is wrong.</summary>
    public const int Unreadable = 1;

    /// <summary>The baseline or the current window holds no usable record.</summary>
    public const int Empty = 2;

    /// <summary>Reports written; some feature passed a threshold, or accuracy fell below --min-accuracy.</summary>
    public const int Drift = 3;

    /// <summary>The baseline and the current window have different columns (or types); nothing compared.</summary>
    public const int SchemaMismatch = 4;

    /// <summary>No record's id is in the labels file.</summary>
    public const int LabelsUnmatched = 5;

    /// <summary>Cancelled (Ctrl+C).</summary>
    public const int Cancelled = 130;
}
