namespace Serverless.Inference.Tests;

public sealed class SmokeTests
{
    [Fact]
    public void Identity_model_bytes_are_not_empty() => Assert.NotEmpty(OnnxTestModels.Identity(OnnxElementType.Float));
}
