namespace Serverless.Inference.Hosting;

/// <summary>
/// The instance's memory split three ways: what the process needs whatever it serves (runtime, libraries, buffers),
/// what loaded models may hold (least recently used ones are released beyond it), and what running requests may use
/// at once (each reserves its estimate before it runs).
/// </summary>
internal sealed record MemoryPlan(InstanceMemory Instance, long ReservedBytes, long ModelBytes, long RequestBytes)
{
    public static MemoryPlan From(ModelHostOptions options)
    {
        ArgumentNullException.ThrowIfNull(options);
        var instance = options.InstanceMemory ?? InstanceMemory.Detect();
        // The .NET runtime, ONNX Runtime's native library and the host measure about 100 MB before any model loads
        // (the request-memory benchmark prints it).
        var reserved = (128L << 20) + instance.Bytes / 20;
        var usable = Math.Max(instance.Bytes - reserved, 64L << 20);
        var models = options.MemoryBudgetBytes ?? usable * 3 / 10;
        var requests = options.RequestMemoryBytes ?? Math.Max(usable - models, 32L << 20);
        return new MemoryPlan(instance, reserved, models, requests);
    }

    public override string ToString() =>
        $"instance {Instance.Bytes >> 20} MB ({Instance.Source}): {ReservedBytes >> 20} MB reserved, {ModelBytes >> 20} MB for models, {RequestBytes >> 20} MB for running requests";
}
