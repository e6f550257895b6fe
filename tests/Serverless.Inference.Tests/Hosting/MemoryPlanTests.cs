using Serverless.Inference.Hosting;

namespace Serverless.Inference.Tests.Hosting;

public sealed class MemoryPlanTests
{
    [Theory]
    [InlineData("2048", null, 2048L << 20, InstanceMemory.SettingVariable)]
    [InlineData(null, "1024", 1024L << 20, InstanceMemory.LambdaVariable)]
    [InlineData("4096", "1024", 4096L << 20, InstanceMemory.SettingVariable)]
    public void Detect_SettingThenLambda_TakesTheFirstThatIsSet(string? setting, string? lambda, long bytes, string source)
    {
        var memory = InstanceMemory.Detect(name => name switch
        {
            InstanceMemory.SettingVariable => setting,
            InstanceMemory.LambdaVariable => lambda,
            _ => null,
        });

        Assert.Equal((bytes, source), (memory.Bytes, memory.Source));
    }

    [Fact]
    public void Detect_NothingSet_WhatTheRuntimeSees()
    {
        var memory = InstanceMemory.Detect(_ => null);

        Assert.Equal(GC.GetGCMemoryInfo().TotalAvailableMemoryBytes, memory.Bytes);
    }

    [Theory]
    [InlineData("lots")]
    [InlineData("64")]
    [InlineData("-1")]
    public void Detect_Nonsense_SaysWhichVariable(string value)
    {
        var error = Assert.Throws<InvalidOperationException>(() => InstanceMemory.Detect(name => name == InstanceMemory.LambdaVariable ? value : null));

        Assert.Equal($"AWS_LAMBDA_FUNCTION_MEMORY_SIZE must be the instance memory in MB (128 or more), not '{value}'", error.Message);
    }

    [Theory]
    // A 1,024 MB Lambda: 128 + 51 MB kept for the process, then three tenths of the rest for models.
    [InlineData(1024, 179, 253, 591)]
    [InlineData(2048, 230, 545, 1272)]
    [InlineData(4096, 332, 1128, 2634)]
    public void From_InstanceMemory_SplitsItForTheProcessModelsAndRequests(long instanceMb, long reservedMb, long modelMb, long requestMb)
    {
        var plan = MemoryPlan.From(new ModelHostOptions { InstanceMemory = new InstanceMemory(instanceMb << 20, "test") });

        Assert.Equal((reservedMb, modelMb, requestMb), (plan.ReservedBytes >> 20, plan.ModelBytes >> 20, plan.RequestBytes >> 20));
        Assert.True(plan.ReservedBytes + plan.ModelBytes + plan.RequestBytes <= instanceMb << 20);
    }

    [Fact]
    public void From_ExplicitBudgets_Win()
    {
        var plan = MemoryPlan.From(new ModelHostOptions
        {
            InstanceMemory = new InstanceMemory(1024L << 20, "test"),
            MemoryBudgetBytes = 100L << 20,
            RequestMemoryBytes = 50L << 20,
        });

        Assert.Equal((100L << 20, 50L << 20), (plan.ModelBytes, plan.RequestBytes));
    }
}
