namespace Serverless.Inference.Tests.Batch.Support;

/// <summary>
/// Tests that measure the process's allocations run alone (after every parallel test), so no other
/// test's allocations count against them.
/// </summary>
[CollectionDefinition(Name, DisableParallelization = true)]
public sealed class SerialCollection
{
    public const string Name = "Batch serial";
}
