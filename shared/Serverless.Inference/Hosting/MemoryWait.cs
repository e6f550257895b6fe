namespace Serverless.Inference.Hosting;

/// <summary>How a caller waits for memory: an online request waits briefly in a bounded line, a batch job as long as it takes.</summary>
internal enum MemoryWait
{
    Online,
    Batch,
}
