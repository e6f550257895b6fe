using System.Text.Json;
using Serverless.Inference.Tests.Pipelines.ImageSupport;
using Serverless.Inference.Tests.Support;

namespace Serverless.Inference.Tests.Pipelines;

/// <summary>Triton's model configuration of a pipeline model describes what callers send (images), not the ONNX tensors.</summary>
public sealed class PipelineModelConfigTests(ImageModels models) : IClassFixture<ImageModels>
{
    [Fact]
    public async Task ModelConfig_PipelineModel_DescribesThePipelinesTensors()
    {
        var metadata = (await models.Client.GetAsync($"/v2/models/{ImageModels.Colours}")).AssertOk().Json;

        var config = (await models.Client.GetAsync($"/v2/models/{ImageModels.Colours}/config")).AssertOk().Json;

        Assert.Equal(Names(metadata.GetProperty("inputs")), Names(config.GetProperty("input")));
        Assert.Equal(Names(metadata.GetProperty("outputs")), Names(config.GetProperty("output")));
        var image = config.GetProperty("input")[0];
        Assert.Equal(("image", "TYPE_STRING"), (image.GetProperty("name").GetString(), image.GetProperty("data_type").GetString()));
        // One image per row: Triton's way to say "a batch of scalars" is dims [1] reshaped to [].
        Assert.Equal("[1]", image.GetProperty("dims").GetRawText());
        Assert.Equal("[]", image.GetProperty("reshape").GetProperty("shape").GetRawText());
    }

    private static string?[] Names(JsonElement tensors) => [.. tensors.EnumerateArray().Select(t => t.GetProperty("name").GetString())];
}
