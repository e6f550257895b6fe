namespace Serverless.Inference.Hosting;

/// <summary>Time spent in each phase of a model load.</summary>
public sealed record LoadReport(TimeSpan Download, TimeSpan SessionCreate, TimeSpan Warmup, bool OptimizedGraphFromCache)
{
    public TimeSpan Total => Download + SessionCreate + Warmup;
}
