namespace Serverless.Inference.Tests.Monitoring.Support;

/// <summary>
/// Three capture windows of 20,000 iris-like rows, written once for a test class: the baseline, a window from the
/// same distributions, and one with Features[0] and Features[2] shifted and setosa predicted for 60 % of rows.
/// </summary>
public sealed class IrisWindows : IDisposable
{
    public const int Rows = 20_000;

    public static readonly DateTimeOffset BaselineStart = new(2026, 12, 1, 0, 0, 0, TimeSpan.Zero);
    public static readonly DateTimeOffset CurrentStart = new(2026, 12, 2, 0, 0, 0, TimeSpan.Zero);

    private readonly string _root = Directory.CreateTempSubdirectory("monitor-windows-").FullName;

    public IrisWindows()
    {
        IrisCapture.WriteWindow(Baseline, BaselineStart, Rows, seed: 1, IrisShift.None);
        IrisCapture.WriteWindow(Same, CurrentStart, Rows, seed: 2, IrisShift.None);
        IrisCapture.WriteWindow(Shifted, CurrentStart, Rows, seed: 3, new IrisShift(Feature0: 0.8, Feature2: 1.2, SetosaShare: 0.6));
    }

    public string Baseline => Path.Combine(_root, "baseline");

    public string Same => Path.Combine(_root, "same");

    public string Shifted => Path.Combine(_root, "shifted");

    public void Dispose() => Directory.Delete(_root, recursive: true);
}
