namespace Serverless.Inference.TestModels;

/// <summary>Ready-made tiny ONNX models, as the bytes an inference session loads.</summary>
/// <remarks>
/// Not named <c>TestModels</c>: inside any <c>Serverless.Inference.*</c> namespace that name binds to
/// this namespace before it binds to a class.
/// </remarks>
public static class OnnxTestModels
{
    /// <summary>The element types <see cref="Doubler"/> accepts: every numeric type, all of which ONNX Runtime's CPU provider runs Add for.</summary>
    public static IReadOnlyList<OnnxElementType> DoublerTypes { get; } =
        [.. Enum.GetValues<OnnxElementType>().Where(type => type is not (OnnxElementType.Bool or OnnxElementType.String))];

    /// <summary><c>y = Identity(x)</c>, both of <paramref name="type"/> and shape [N]; any element type.</summary>
    public static byte[] Identity(OnnxElementType type) =>
        new OnnxModelBuilder("identity")
            .Input("x", type, "N")
            .Output("y", type, "N")
            .Node("Identity", ["x"], ["y"])
            .ToBytes();

    /// <summary><c>y = Identity(x)</c>, both float [N, L] with both dimensions dynamic, like a batch of sequences.</summary>
    public static byte[] Identity2D() =>
        new OnnxModelBuilder("identity-2d")
            .Input("x", OnnxElementType.Float, "N", "L")
            .Output("y", OnnxElementType.Float, "N", "L")
            .Node("Identity", ["x"], ["y"])
            .ToBytes();

    /// <summary><c>sum = a + b</c> and <c>product = a * b</c>, all float [N, 3].</summary>
    public static byte[] AddFloat() =>
        new OnnxModelBuilder("add-float")
            .Input("a", OnnxElementType.Float, "N", 3)
            .Input("b", OnnxElementType.Float, "N", 3)
            .Output("sum", OnnxElementType.Float, "N", 3)
            .Output("product", OnnxElementType.Float, "N", 3)
            .Node("Add", ["a", "b"], ["sum"])
            .Node("Mul", ["a", "b"], ["product"])
            .ToBytes();

    /// <summary><c>y = x + x</c>, shape [N, 2], for a type in <see cref="DoublerTypes"/>.</summary>
    /// <remarks>
    /// BOOL and STRING are refused: ONNX's Add does not take them, so ONNX Runtime rejects such a model as invalid.
    /// </remarks>
    /// <exception cref="ArgumentOutOfRangeException"><paramref name="type"/> is not in <see cref="DoublerTypes"/>.</exception>
    public static byte[] Doubler(OnnxElementType type)
    {
        if (!DoublerTypes.Contains(type))
        {
            throw new ArgumentOutOfRangeException(nameof(type), type, "ONNX's Add takes numeric types only.");
        }

        return new OnnxModelBuilder("doubler")
            .Input("x", type, "N", 2)
            .Output("y", type, "N", 2)
            .Node("Add", ["x", "x"], ["y"])
            .ToBytes();
    }

    /// <summary><c>y = Identity(x)</c>, both float [1, 3] with no dynamic dimension.</summary>
    public static byte[] FixedBatchOne() =>
        new OnnxModelBuilder("fixed-batch-one")
            .Input("x", OnnxElementType.Float, 1, 3)
            .Output("y", OnnxElementType.Float, 1, 3)
            .Node("Identity", ["x"], ["y"])
            .ToBytes();

    /// <summary>
    /// Float [N, 256] in and out through a chain of <paramref name="iterations"/> MatMul nodes, slow enough on CPU
    /// to cancel mid-run; every element of an output row equals the mean of that input row.
    /// </summary>
    /// <remarks>
    /// Each weight is 1/256, so every step maps a row to its mean: values neither vanish into slow denormals
    /// nor overflow, whatever the chain length. Many small nodes rather than one big one let a run be
    /// terminated between nodes. The input is broadcast to 8 copies per row before the chain and averaged
    /// back after it: ONNX Runtime prepacks a constant weight once per node at session creation, so more
    /// work per node is cheaper to load as more rows than as a wider weight.
    /// </remarks>
    public static byte[] SlowModel(int iterations)
    {
        ArgumentOutOfRangeException.ThrowIfNegativeOrZero(iterations);
        const int Width = 256;
        const long Copies = 8;

        var weights = new float[Width * Width];
        Array.Fill(weights, 1f / Width);
        var builder = new OnnxModelBuilder("slow")
            .Input("x", OnnxElementType.Float, "N", Width)
            .Output("y", OnnxElementType.Float, "N", Width)
            .Initializer<float>("w", weights, Width, Width)
            .Initializer<long>("copies_axis", [1], 1)
            .Initializer<long>("copies_shape", [1, Copies, 1], 3)
            .Node("Unsqueeze", ["x", "copies_axis"], ["x_unsqueezed"])
            .Node("Expand", ["x_unsqueezed", "copies_shape"], ["h0"]);

        for (var i = 0; i < iterations; i++)
        {
            builder.Node("MatMul", [$"h{i}", "w"], [$"h{i + 1}"]);
        }

        return builder
            .Node("ReduceMean", [$"h{iterations}"], ["y"], OnnxAttribute.Ints("axes", 1), OnnxAttribute.Int("keepdims", 0))
            .ToBytes();
    }

    /// <summary>
    /// <c>y = Reshape(x, [2, 2])</c> with x float [N, 4]: one row fits, any other count makes ONNX Runtime fail inside
    /// the run with an enforcement message that carries its own source path, line and C++ function.
    /// </summary>
    public static byte[] FourToTwoByTwo() =>
        new OnnxModelBuilder("four-to-two-by-two")
            .Input("x", OnnxElementType.Float, "N", 4)
            .Output("y", OnnxElementType.Float, 2, 2)
            .Initializer<long>("shape", [2, 2], 2)
            .Node("Reshape", ["x", "shape"], ["y"])
            .ToBytes();

    /// <summary><c>mean = GlobalAveragePool(image)</c>: float [N, C, H, W] to float [N, C, 1, 1].</summary>
    public static byte[] Image(int channels, int height, int width)
    {
        ArgumentOutOfRangeException.ThrowIfNegativeOrZero(channels);
        ArgumentOutOfRangeException.ThrowIfNegativeOrZero(height);
        ArgumentOutOfRangeException.ThrowIfNegativeOrZero(width);

        return new OnnxModelBuilder("image")
            .Input("image", OnnxElementType.Float, "N", channels, height, width)
            .Output("mean", OnnxElementType.Float, "N", channels, 1, 1)
            .Node("GlobalAveragePool", ["image"], ["mean"])
            .ToBytes();
    }
}
