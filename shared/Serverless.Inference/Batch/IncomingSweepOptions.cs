namespace Serverless.Inference.Batch;

public sealed class IncomingSweepOptions
{
    /// <summary>A file must have sat under incoming/ this long before the sweep takes it: younger ones are the event path's.</summary>
    public TimeSpan OlderThan { get; set; } = TimeSpan.FromMinutes(15);

    /// <summary>The most files one sweep scores or sets aside; files found already scored cost a HEAD and do not count.</summary>
    public int MaxFiles { get; set; } = 50;

    /// <summary>After this long a sweep starts no new file; the next sweep goes on.</summary>
    public TimeSpan TimeBudget { get; set; } = TimeSpan.FromMinutes(5);
}
