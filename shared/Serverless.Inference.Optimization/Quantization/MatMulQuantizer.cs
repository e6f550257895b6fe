using Onnx;
using Serverless.Inference.Optimization.Onnx;

namespace Serverless.Inference.Optimization.Quantization;

/// <summary>
/// Rewrites MatMul and Gemm nodes with a constant 2-D float weight into ONNX Runtime's dynamic quantization pattern:
/// <c>DynamicQuantizeLinear(A) → MatMulInteger(A_q, W_q, A_zp, W_zp) → Cast(float) → Mul(·, Mul(A_scale, W_scale))</c>,
/// plus <c>Add(·, bias)</c> for a Gemm's C. ONNX Runtime's MatMulIntegerToFloatFusion matches exactly this shape
/// (the scales' Mul with A's scale first, each intermediate read once), and DynamicQuantizeMatMulFusion then folds in
/// the DynamicQuantizeLinear where that node is its only reader. Nodes that read the same activation share one
/// DynamicQuantizeLinear, as in ONNX Runtime's own quantizer: separate ones would be merged by its common
/// subexpression elimination before the fusions run anyway.
/// </summary>
internal sealed class MatMulQuantizer(GraphEditor editor, bool perChannel)
{
    private readonly Dictionary<(string Name, bool Transposed, float Alpha), QuantizedTensorNames> _weights = [];
    private readonly Dictionary<string, QuantizedTensorNames> _activations = new(StringComparer.Ordinal);

    public int MatMuls { get; private set; }

    public int Gemms { get; private set; }

    public IReadOnlyList<NodeProto> FindCandidates() => [.. editor.Graph.Node.Where(IsCandidate)];

    public void Rewrite(NodeProto node)
    {
        var isGemm = node.OpType == "Gemm";
        var transposed = isGemm && node.Int("transB", 0) != 0;
        var alpha = isGemm ? node.Float("alpha", 1f) : 1f;
        var beta = isGemm ? node.Float("beta", 1f) : 1f;
        var weightName = node.Input[1];
        var weights = Weights(weightName, transposed, alpha);

        var input = node.Input[0];
        var output = node.Output[0];
        var prefix = node.Name.Length > 0 ? node.Name : output;
        var integerProduct = editor.NewName($"{output}_output_quantized");
        var floatProduct = editor.NewName($"{output}_output_quantized_cast_output");
        var scales = editor.NewName($"{output}_scales_mul_output");
        var bias = isGemm && node.Input.Count > 2 && node.Input[2].Length > 0 ? node.Input[2] : null;
        var scaled = bias is null ? output : editor.NewName($"{output}_scaled");

        List<NodeProto> replacement = [];
        if (!_activations.TryGetValue(input, out var activation))
        {
            activation = new QuantizedTensorNames(
                editor.NewName($"{input}_quantized"), editor.NewName($"{input}_scale"), editor.NewName($"{input}_zero_point"));
            _activations[input] = activation;
            // Inserted before the first reader; the readers after it come later in the (topologically sorted) graph.
            replacement.Add(GraphEditor.Node(
                "DynamicQuantizeLinear", editor.NewName($"{input}_QuantizeLinear"), [input], [activation.Values, activation.Scale, activation.ZeroPoint]));
        }

        replacement.AddRange(
        [
            GraphEditor.Node("MatMulInteger", editor.NewName($"{prefix}_quant"), [activation.Values, weights.Values, activation.ZeroPoint, weights.ZeroPoint], [integerProduct]),
            GraphEditor.Node("Cast", editor.NewName($"{prefix}_cast"), [integerProduct], [floatProduct]).WithInt("to", TensorData.Float),
            GraphEditor.Node("Mul", editor.NewName($"{prefix}_scales_mul"), [activation.Scale, weights.Scale], [scales]),
            GraphEditor.Node("Mul", editor.NewName($"{prefix}_output_scale_mul"), [floatProduct, scales], [scaled]),
        ]);
        if (bias is not null)
        {
            replacement.AddRange(BiasNodes(prefix, bias, beta, scaled, output));
        }

        NodeReplacement.Replace(editor.Graph, node, replacement);
        editor.RemoveInitializerIfUnused(weightName);
        if (bias is not null)
        {
            editor.RemoveInitializerIfUnused(bias);
        }

        if (isGemm)
        {
            Gemms++;
        }
        else
        {
            MatMuls++;
        }
    }

    private bool IsCandidate(NodeProto node)
    {
        if (node.Domain is not ("" or "ai.onnx") || node.Input.Count < 2 || node.Output.Count != 1)
        {
            return false;
        }

        var isCandidateOp = node.OpType switch
        {
            "MatMul" => true,
            // Gemm's A is transposed at run time only with transA; left to run in float.
            "Gemm" => node.Int("transA", 0) == 0,
            _ => false,
        };
        return isCandidateOp &&
            editor.Initializer(node.Input[1]) is { DataType: TensorData.Float } weight &&
            weight.Dims.Count == 2 &&
            !editor.Graph.Input.Any(input => input.Name == weight.Name);
    }

    /// <summary>
    /// Gemm computes <c>alpha·A·B' + beta·C</c>: a constant C is scaled once here, a computed one by a Mul; either is
    /// added after the rescale, as a separate Add (which ONNX Runtime folds into the fused node as its bias).
    /// </summary>
    private IEnumerable<NodeProto> BiasNodes(string prefix, string bias, float beta, string scaled, string output)
    {
        var term = bias;
        if (beta != 1f)
        {
            if (editor.Initializer(bias) is { DataType: TensorData.Float } constant)
            {
                var values = TensorData.ReadFloats(constant);
                for (var i = 0; i < values.Length; i++)
                {
                    values[i] *= beta;
                }

                term = editor.NewName($"{bias}_beta");
                editor.AddInitializer(TensorData.Floats(term, [.. constant.Dims], values));
            }
            else
            {
                var betaName = editor.NewName($"{prefix}_beta");
                editor.AddInitializer(TensorData.Scalar(betaName, beta));
                term = editor.NewName($"{bias}_beta");
                yield return GraphEditor.Node("Mul", editor.NewName($"{prefix}_bias_beta_mul"), [bias, betaName], [term]);
            }
        }

        yield return GraphEditor.Node("Add", editor.NewName($"{prefix}_bias_add"), [scaled, term], [output]);
    }

    /// <summary>The int8 form of a weight, made once however many nodes read it.</summary>
    private QuantizedTensorNames Weights(string name, bool transposed, float alpha)
    {
        if (_weights.TryGetValue((name, transposed, alpha), out var known))
        {
            return known;
        }

        var source = editor.Initializer(name) ?? throw new InvalidOperationException($"initializer '{name}' disappeared");
        var values = TensorData.ReadFloats(source);
        long[] dims = [source.Dims[0], source.Dims[1]];
        if (transposed)
        {
            values = Transpose(values, (int)dims[0], (int)dims[1]);
            dims = [dims[1], dims[0]];
        }

        // [K, N]: the output columns run along axis 1.
        var quantized = WeightQuantizer.Int8Symmetric(values, dims, perChannel ? 1 : -1);
        var scaleValues = quantized.Scales.Select(scale => scale * alpha).ToArray();
        long[] channelDims = perChannel ? [dims[1]] : [];
        var weights = new QuantizedTensorNames(
            editor.NewName($"{name}_quantized"), editor.NewName($"{name}_scale"), editor.NewName($"{name}_zero_point"));
        editor.AddInitializer(TensorData.Int8s(weights.Values, dims, quantized.Values));
        editor.AddInitializer(TensorData.Floats(weights.Scale, channelDims, scaleValues));
        editor.AddInitializer(TensorData.Int8s(weights.ZeroPoint, channelDims, new sbyte[scaleValues.Length]));
        _weights[(name, transposed, alpha)] = weights;
        return weights;
    }

    private static float[] Transpose(float[] values, int rows, int columns)
    {
        var transposed = new float[values.Length];
        for (var r = 0; r < rows; r++)
        {
            for (var c = 0; c < columns; c++)
            {
                transposed[(c * rows) + r] = values[(r * columns) + c];
            }
        }

        return transposed;
    }
}
