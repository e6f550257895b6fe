using System.Text;
using Serverless.Inference.Pipelines.Steps;
using Serverless.Inference.Runtime;
using Xunit.Abstractions;
using static Serverless.Inference.Tests.Pipelines.Text.MiniLmFixture;

namespace Serverless.Inference.Tests.Pipelines.Text;

/// <summary>The sample MiniLM model through the model host's endpoint: texts in, sentence embeddings out.</summary>
[Collection(MiniLmCollection.Name)]
public sealed class MiniLmEndpointTests(MiniLmFixture fixture, ITestOutputHelper output)
{
    [Fact]
    public async Task Run_RelatedTexts_CloserThanUnrelated()
    {
        var vectors = await fixture.EmbedAsync("eating food", "eating bread", "a movie");

        var related = Cosine(vectors[0], vectors[1]);
        var unrelated = Cosine(vectors[0], vectors[2]);
        output.WriteLine($"cosine(eating food, eating bread) = {related:F4}");
        output.WriteLine($"cosine(eating food, a movie)      = {unrelated:F4}");

        // Measured 0.705 and 0.267 (see the output): bounds with a wide margin, and a clear gap between them.
        Assert.InRange(related, 0.55, 1.0);
        Assert.InRange(unrelated, -0.2, 0.45);
        Assert.True(related - unrelated > 0.25, $"related {related:F4} is not clearly above unrelated {unrelated:F4}");
    }

    [Fact]
    public async Task Run_Texts_UnitLengthEmbeddings()
    {
        var vectors = await fixture.EmbedAsync("eating food", "A considerably longer sentence, with punctuation; and more words.", "café", "x");

        Assert.All(vectors, vector =>
        {
            Assert.Equal(Dimensions, vector.Length);
            Assert.InRange(Norm(vector), 1 - 1e-5, 1 + 1e-5);
        });
    }

    [Fact]
    public async Task Run_BatchOfEight_SameVectorsAsEightSingleRuns()
    {
        // Lengths from 3 to 20 tokens, so most rows of the batch are padded.
        string[] texts =
        [
            "eating food",
            "A man is playing a guitar on the stage tonight.",
            "a movie",
            "The quick brown fox jumps over the lazy dog, twice, before breakfast.",
            "café naïve",
            "hello",
            "Transformers turn word pieces into context-dependent vectors.",
            "ok",
        ];

        var batch = await fixture.EmbedAsync(texts);

        for (var i = 0; i < texts.Length; i++)
        {
            AssertClose(Assert.Single(await fixture.EmbedAsync(texts[i])), batch[i]);
        }
    }

    [Fact]
    public async Task Run_TextOverMaxLength_CutAt256TokensAndCounted()
    {
        // 300 words of one token each: cut to [CLS] + 254 words + [SEP]. Whatever follows the cut changes nothing.
        var words = string.Join(' ', Enumerable.Range(0, 300).Select(i => i % 2 == 0 ? "sentence" : "example"));
        using var lease = await fixture.Host.AcquireAsync(Model, null, CancellationToken.None);

        using var outputs = Run(lease.Endpoint, words, words + " and an entirely different ending about a movie", "short");

        var vectors = Vectors(Assert.Single(outputs.Tensors).AsSpan<float>(), 3);
        AssertClose(vectors[0], vectors[1]);
        var parameter = Assert.Single(outputs.Parameters);
        Assert.Equal(BertTokenizeStep.TruncatedParameter, parameter.Name);
        Assert.Equal("2", Encoding.UTF8.GetString(parameter.RawJsonValue));
    }

    [Fact]
    public async Task Run_TextWithinMaxLength_NoParameter()
    {
        using var lease = await fixture.Host.AcquireAsync(Model, null, CancellationToken.None);

        using var outputs = Run(lease.Endpoint, "eating food");

        Assert.Empty(outputs.Parameters);
    }

    [Fact]
    public async Task Run_RawTensors_SkipThePipelineAndPoolToTheSameEmbedding()
    {
        // [CLS] this is an example sentence [SEP], as bert_tokenize gives it.
        long[] ids = [101, 2023, 2003, 2019, 2742, 6251, 102];
        using var lease = await fixture.Host.AcquireAsync(Model, null, CancellationToken.None);
        using var inputIds = InputTensor.FromArray<long>("input_ids", TensorDataType.Int64, [1, 7], ids);
        using var mask = InputTensor.FromArray<long>("attention_mask", TensorDataType.Int64, [1, 7], [1, 1, 1, 1, 1, 1, 1]);
        using var types = InputTensor.FromArray<long>("token_type_ids", TensorDataType.Int64, [1, 7], new long[7]);

        using var outputs = lease.Endpoint.Run([inputIds, mask, types], null, CancellationToken.None);

        Assert.Equal(["last_hidden_state", "924"], outputs.Tensors.Select(t => t.Name));
        var hidden = outputs.Tensors[0];
        Assert.Equal([1L, 7, Dimensions], hidden.Shape);
        // Mean over the 7 tokens, then unit length: what mean_pool and l2_normalize do.
        var pooled = Enumerable.Range(0, Dimensions).Select(d => Enumerable.Range(0, 7).Average(t => hidden.AsSpan<float>()[(t * Dimensions) + d])).ToArray();
        var norm = Math.Sqrt(pooled.Sum(x => x * x));
        var expected = pooled.Select(x => (float)(x / norm)).ToArray();
        AssertClose(expected, Assert.Single(await fixture.EmbedAsync("This is an example sentence")));
    }

    [Fact]
    public async Task Run_MoreTextsThanMaxBatchSize_BadRequestNamingText()
    {
        using var lease = await fixture.Host.AcquireAsync(Model, null, CancellationToken.None);

        var error = Assert.Throws<InferenceException>(() => Run(lease.Endpoint, [.. Enumerable.Repeat("hello", 65)]));

        Assert.Equal(InferenceErrorKind.BadRequest, error.Kind);
        Assert.Equal("input 'text' holds a batch of 65 but this model takes at most 64", error.Message);
    }

    private static ModelOutputs Run(IInferenceModel endpoint, params string[] texts)
    {
        using var input = InputTensor.CreateBytes("text", [texts.Length], [.. texts.Select(Encoding.UTF8.GetBytes)]);
        return endpoint.Run([input], null, CancellationToken.None);
    }
}
