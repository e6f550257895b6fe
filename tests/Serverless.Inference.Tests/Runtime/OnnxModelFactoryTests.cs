using Serverless.Inference.Repository;
using Serverless.Inference.Runtime;
using Serverless.Inference.Tests.Hosting.Support;

namespace Serverless.Inference.Tests.Runtime;

public sealed class OnnxModelFactoryTests
{
    [Fact]
    public void Create_NoOverrides_ExposesTheModelsOwnSignature()
    {
        using var model = ModelRunner.Load(OnnxTestModels.AddFloat());

        Assert.Equal(["a", "b"], model.Signature.Inputs.Select(i => i.Name));
        Assert.Equal(["sum", "product"], model.Signature.Outputs.Select(o => o.Name));
        Assert.All(model.Signature.Inputs, i => Assert.Equal([-1L, 3L], i.Shape));
        Assert.All(model.Signature.Inputs, i => Assert.Equal(TensorDataType.Fp32, i.DataType));
        Assert.Equal(model.NativeSignature.Inputs, model.Signature.Inputs);
    }

    [Fact]
    public void Create_InputShapeOverride_IsEnforcedByRun()
    {
        var manifest = new ModelManifest { Inputs = [new TensorOverride("x", [4])] };
        using var model = ModelRunner.Load(OnnxTestModels.Identity(OnnxElementType.Float), manifest);

        Assert.Equal([4L], model.Signature.Inputs[0].Shape);
        Assert.Equal([-1L], model.NativeSignature.Inputs[0].Shape);

        var refused = Assert.Throws<InferenceException>(() => ModelRunner.RunFloats(model, "x", [3], 1f, 2f, 3f));
        Assert.Equal(InferenceErrorKind.BadRequest, refused.Kind);
        Assert.Equal([1f, 2f, 3f, 4f], ModelRunner.RunFloats(model, "x", [4], 1f, 2f, 3f, 4f));
    }

    [Fact]
    public void Create_MaxShape_RefusesLargerInputsWith413AndScalesTheEstimate()
    {
        var manifest = new ModelManifest { MaxBatchSize = 8, Inputs = [new TensorOverride("x", MaxShape: [-1, 100])], MemoryPerRowMb = 10 };
        using var model = ModelRunner.Load(OnnxTestModels.Identity2D(), manifest);

        Assert.Equal([-1L, 100L], model.Signature.Inputs[0].MaxShape);
        var refused = Assert.Throws<InferenceException>(() => ModelRunner.RunFloats(model, "x", [1, 101], new float[101]));
        Assert.Equal(InferenceErrorKind.PayloadTooLarge, refused.Kind);
        Assert.Equal("input 'x' has shape [1,101]: dimension 1 may be at most 100 for this model (largest shape [-1,100])", refused.Message);
        Assert.Equal(100, ModelRunner.RunFloats(model, "x", [1, 100], new float[100]).Length);

        // A run's fixed 1 MB, and 4 rows of half the longest sequence at 10 MB a row at the longest.
        using var half = ModelRunner.Floats("x", [4, 50], new float[200]);
        Assert.Equal(21L << 20, model.EstimateWorkingBytes([half]));
    }

    [Theory]
    [InlineData(new long[] { 100 })]
    [InlineData(new long[] { -1, 100, 3 })]
    public void Create_MaxShapeOfAnotherRank_UnavailableNamingIt(long[] maxShape)
    {
        var manifest = new ModelManifest { Inputs = [new TensorOverride("x", MaxShape: maxShape)] };

        var error = Assert.Throws<InferenceException>(() => ModelRunner.Load(OnnxTestModels.Identity2D(), manifest).Dispose());

        Assert.Equal(InferenceErrorKind.Unavailable, error.Kind);
        Assert.StartsWith($"model.json gives 'x' the max_shape [{string.Join(',', maxShape)}], which does not fit its shape [-1,-1]", error.Message, StringComparison.Ordinal);
    }

    [Fact]
    public void Create_OutputsListed_ExposesOnlyThoseInManifestOrder()
    {
        var manifest = new ModelManifest { Outputs = [new TensorOverride("product"), new TensorOverride("sum")] };
        using var model = ModelRunner.Load(OnnxTestModels.AddFloat(), manifest);
        using var a = ModelRunner.Floats("a", [1, 3], 1f, 2f, 3f);
        using var b = ModelRunner.Floats("b", [1, 3], 4f, 5f, 6f);

        using var outputs = model.Run([a, b], null, CancellationToken.None);

        Assert.Equal(["product", "sum"], model.Signature.Outputs.Select(o => o.Name));
        Assert.Equal(["product", "sum"], outputs.Tensors.Select(t => t.Name));
        Assert.Equal([4f, 10f, 18f], outputs.Tensors[0].AsSpan<float>().ToArray());
    }

    [Fact]
    public void Create_OutputsRestricted_HidesTheOthers()
    {
        var manifest = new ModelManifest { Outputs = [new TensorOverride("product")] };
        using var model = ModelRunner.Load(OnnxTestModels.AddFloat(), manifest);
        using var a = ModelRunner.Floats("a", [1, 3], 1f, 2f, 3f);
        using var b = ModelRunner.Floats("b", [1, 3], 4f, 5f, 6f);

        using (var outputs = model.Run([a, b], null, CancellationToken.None))
        {
            Assert.Equal("product", Assert.Single(outputs.Tensors).Name);
        }

        var refused = Assert.Throws<InferenceException>(() => model.Run([a, b], ["sum"], CancellationToken.None));
        Assert.Equal(InferenceErrorKind.BadRequest, refused.Kind);
        Assert.Equal(2, model.NativeSignature.Outputs.Count);
    }

    [Fact]
    public void Create_MaxBatchSize_RefusesLargerBatches()
    {
        var manifest = new ModelManifest { MaxBatchSize = 2 };
        using var model = ModelRunner.Load(OnnxTestModels.Identity(OnnxElementType.Float), manifest);

        Assert.Equal([1f, 2f], ModelRunner.RunFloats(model, "x", [2], 1f, 2f));
        var refused = Assert.Throws<InferenceException>(() => ModelRunner.RunIdentity(model));
        Assert.Equal(InferenceErrorKind.BadRequest, refused.Kind);
        Assert.Contains("at most 2", refused.Message, StringComparison.Ordinal);
    }

    // object: a public test cannot name an internal type in its parameters.
    public static TheoryData<string, object> MisfittingOverrides => new()
    {
        { "'c'", new ModelManifest { Inputs = [new TensorOverride("c", [1, 3])] } },
        { "'ratio'", new ModelManifest { Outputs = [new TensorOverride("sum"), new TensorOverride("ratio")] } },
        { "'a'", new ModelManifest { Inputs = [new TensorOverride("a", [-1, 3, 1])] } },
        { "'a'", new ModelManifest { Inputs = [new TensorOverride("a", [-1, 4])] } },
        { "'b'", new ModelManifest { Inputs = [new TensorOverride("b", [-2, 3])] } },
        { "'sum'", new ModelManifest { Outputs = [new TensorOverride("sum", [5])] } },
    };

    [Theory]
    [MemberData(nameof(MisfittingOverrides))]
    public void Create_OverrideThatDoesNotFitTheModel_IsUnavailableNamingTheTensor(string tensor, object manifest)
    {
        var failure = Assert.Throws<InferenceException>(() => ModelRunner.Load(OnnxTestModels.AddFloat(), (ModelManifest)manifest));

        Assert.Equal(InferenceErrorKind.Unavailable, failure.Kind);
        Assert.Contains(tensor, failure.Message, StringComparison.Ordinal);
    }
}
