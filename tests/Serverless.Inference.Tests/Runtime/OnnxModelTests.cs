using Serverless.Inference.Runtime;
using Serverless.Inference.Tests.Hosting.Support;

namespace Serverless.Inference.Tests.Runtime;

public sealed class OnnxModelTests
{
    private const int SlowWidth = 256;

    [Fact]
    public async Task Run_CancelledWhileRunning_ThrowsOperationCanceledAndTheModelRunsAgain()
    {
        using var model = ModelRunner.Load(OnnxTestModels.SlowModel(4000));
        using var cancel = new CancellationTokenSource();
        var started = new TaskCompletionSource(TaskCreationOptions.RunContinuationsAsynchronously);

        var run = Task.Run(() =>
        {
            using var input = SlowInput(rows: 64);
            started.SetResult();
            using var outputs = model.Run([input], null, cancel.Token);
        });
        await started.Task;
        // Well inside the run (seconds long), so the flag meets a run already going through its nodes.
        cancel.CancelAfter(TimeSpan.FromMilliseconds(300));

        await Assert.ThrowsAnyAsync<OperationCanceledException>(() => run);

        using var again = SlowInput(rows: 2);
        using var result = model.Run([again], null, CancellationToken.None);
        var y = result.Tensors[0];
        Assert.Equal([2L, SlowWidth], y.Shape);
        var values = y.AsSpan<float>();
        for (var row = 0; row < 2; row++)
        {
            var expectedMean = row + ((SlowWidth - 1) / 2f);
            for (var column = 0; column < SlowWidth; column++)
            {
                Assert.Equal(expectedMean, values[(row * SlowWidth) + column], 0.01f);
            }
        }
    }

    [Fact]
    public void Run_TokenAlreadyCancelled_ThrowsOperationCanceled()
    {
        using var model = ModelRunner.Load(OnnxTestModels.Identity(OnnxElementType.Float));
        using var input = ModelRunner.Floats("x", [3], 1f, 2f, 3f);

        Assert.ThrowsAny<OperationCanceledException>(() => model.Run([input], null, new CancellationToken(canceled: true)));
        Assert.Equal([1f, 2f, 3f], ModelRunner.RunIdentity(model));
    }

    [Fact]
    public void Run_AfterDispose_ThrowsObjectDisposed()
    {
        var model = ModelRunner.Load(OnnxTestModels.Identity(OnnxElementType.Float));
        Assert.Equal([1f, 2f, 3f], ModelRunner.RunIdentity(model));

        model.Dispose();

        Assert.Throws<ObjectDisposedException>(() => ModelRunner.RunIdentity(model));
    }

    [Fact]
    public void Run_NamedOutputs_ReturnsThoseInTheOrderAsked()
    {
        using var model = ModelRunner.Load(OnnxTestModels.AddFloat());
        using var a = ModelRunner.Floats("a", [1, 3], 1f, 2f, 3f);
        using var b = ModelRunner.Floats("b", [1, 3], 4f, 5f, 6f);

        using var outputs = model.Run([a, b], ["product", "sum"], CancellationToken.None);

        Assert.Equal(["product", "sum"], outputs.Tensors.Select(t => t.Name));
        Assert.Equal([4f, 10f, 18f], outputs.Tensors[0].AsSpan<float>().ToArray());
        Assert.Equal([5f, 7f, 9f], outputs.Tensors[1].AsSpan<float>().ToArray());
    }

    public static TheoryData<string, object> BadInputs => new()
    {
        { "unknown input 'c'", Inputs(() => [Floats("a"), Floats("b"), Floats("c")]) },
        { "given more than once", Inputs(() => [Floats("a"), Floats("a"), Floats("b")]) },
        { "missing input(s): b", Inputs(() => [Floats("a")]) },
        { "datatype FP64", Inputs(() => [Floats("a"), InputTensor.FromArray<double>("b", TensorDataType.Fp64, [1, 3], [1, 2, 3])]) },
        { "rank 2", Inputs(() => [Floats("a"), ModelRunner.Floats("b", [3], 1f, 2f, 3f)]) },
        { "expects [-1,3]", Inputs(() => [Floats("a"), ModelRunner.Floats("b", [3, 1], 1f, 2f, 3f)]) },
    };

    /// <summary>Gives the lambda its type: the theory's data is object because a public test cannot name the internal InputTensor.</summary>
    private static Func<InputTensor[]> Inputs(Func<InputTensor[]> build) => build;

    [Theory]
    [MemberData(nameof(BadInputs))]
    public void Run_InputsThatDoNotFitTheSignature_AreBadRequests(string expected, object inputs)
    {
        ArgumentNullException.ThrowIfNull(inputs);
        using var model = ModelRunner.Load(OnnxTestModels.AddFloat());
        var tensors = ((Func<InputTensor[]>)inputs)();
        try
        {
            var failure = Assert.Throws<InferenceException>(() => model.Run(tensors, null, CancellationToken.None));

            Assert.Equal(InferenceErrorKind.BadRequest, failure.Kind);
            Assert.Contains(expected, failure.Message, StringComparison.Ordinal);
        }
        finally
        {
            Array.ForEach(tensors, t => t.Dispose());
        }
    }

    [Fact]
    public void Run_UnknownOutputName_IsBadRequest()
    {
        using var model = ModelRunner.Load(OnnxTestModels.Identity(OnnxElementType.Float));
        using var input = ModelRunner.Floats("x", [1], 1f);

        var failure = Assert.Throws<InferenceException>(() => model.Run([input], ["z"], CancellationToken.None));

        Assert.Equal(InferenceErrorKind.BadRequest, failure.Kind);
        Assert.Contains("'z'", failure.Message, StringComparison.Ordinal);
    }

    private static InputTensor Floats(string name) => ModelRunner.Floats(name, [1, 3], 1f, 2f, 3f);

    /// <summary>Rows of 0, 1, ..., 255 shifted by the row number, so row r has the mean r + 127.5.</summary>
    private static InputTensor SlowInput(int rows)
    {
        var values = new float[rows * SlowWidth];
        for (var i = 0; i < values.Length; i++)
        {
            values[i] = (i / SlowWidth) + (i % SlowWidth);
        }

        return ModelRunner.Floats("x", [rows, SlowWidth], values);
    }
}
