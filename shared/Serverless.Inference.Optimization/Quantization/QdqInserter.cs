using Onnx;
using Serverless.Inference.Optimization.Calibration;
using Serverless.Inference.Optimization.Onnx;

namespace Serverless.Inference.Optimization.Quantization;

/// <summary>
/// Inserts QuantizeLinear/DequantizeLinear in ONNX Runtime's QDQ format: every activation a quantized node reads
/// or writes passes through one Q -> DQ pair (uint8, scale and zero point from its calibrated range) shared by
/// all its readers; weights are stored as int8 with a DequantizeLinear in front; a Conv/Gemm bias is stored as
/// int32 with scale = input scale x weight scale and zero point 0. ONNX Runtime then fuses each
/// DQ -> op -> Q group into one integer operator.
/// </summary>
internal sealed class QdqInserter(GraphEditor editor, string domain)
{
    private readonly Dictionary<string, (string Dequantized, float Scale)> _activations = new(StringComparer.Ordinal);
    private readonly Dictionary<(string Weight, int Axis), (string Dequantized, float[] Scales)> _weights = [];

    /// <summary>Activations that got a Q -> DQ pair.</summary>
    public int ActivationPairs => _activations.Count;

    /// <summary>Weights and biases stored as integers, each behind a DequantizeLinear.</summary>
    public int DequantizedConstants { get; private set; }

    public void Quantize(QuantizableNode target, ActivationRanges ranges)
    {
        var node = target.Node;
        var (_, inputScale) = QuantizeActivation(target.Activation, ranges);
        var (weight, weightScales) = QuantizeWeight(target);
        node.Input[1] = weight;
        editor.RemoveInitializerIfUnused(target.Weight);
        if (target.HasQuantizableBias)
        {
            var bias = node.Input[2];
            node.Input[2] = QuantizeBias(target, inputScale, weightScales);
            editor.RemoveInitializerIfUnused(bias);
        }

        // An output the caller reads stays float; the node then runs as DQ -> float op, unfused but correct.
        if (!editor.IsGraphOutput(target.Output))
        {
            QuantizeActivation(target.Output, ranges);
        }
    }

    private (string Dequantized, float Scale) QuantizeActivation(string tensor, ActivationRanges ranges)
    {
        if (_activations.TryGetValue(tensor, out var done))
        {
            return done;
        }

        var range = ranges.Ranges.GetValueOrDefault(tensor)
            ?? throw new InvalidOperationException($"activation '{tensor}' was not calibrated");
        if (range == ActivationRange.Empty)
        {
            throw new OptimizationException($"calibration produced no values for activation '{tensor}'");
        }

        var (scale, zeroPoint) = WeightQuantizer.UInt8Asymmetric(range.Min, range.Max);
        var scaleName = editor.NewName(tensor + "_scale");
        var zeroPointName = editor.NewName(tensor + "_zero_point");
        editor.AddInitializer(TensorData.Scalar(scaleName, scale));
        editor.AddInitializer(TensorData.UInt8s(zeroPointName, [], [zeroPoint]));
        var quantized = editor.NewName(tensor + "_quantized");
        var dequantized = editor.NewName(tensor + "_dequantized");

        // Readers are moved to the dequantized copy first, so the QuantizeLinear added next keeps reading the original.
        foreach (var reader in editor.Consumers(tensor))
        {
            for (var i = 0; i < reader.Input.Count; i++)
            {
                if (reader.Input[i] == tensor)
                {
                    reader.Input[i] = dequantized;
                }
            }
        }

        var graph = editor.Graph;
        var producer = graph.Node.FirstOrDefault(node => node.Output.Contains(tensor));
        var at = producer is null ? 0 : graph.Node.IndexOf(producer) + 1;
        graph.Node.Insert(at, GraphEditor.Node("QuantizeLinear", editor.NewName(tensor + "_QuantizeLinear"), [tensor, scaleName, zeroPointName], [quantized], domain));
        graph.Node.Insert(at + 1, GraphEditor.Node("DequantizeLinear", editor.NewName(tensor + "_DequantizeLinear"), [quantized, scaleName, zeroPointName], [dequantized], domain));
        _activations[tensor] = (dequantized, scale);
        return (dequantized, scale);
    }

    private (string Dequantized, float[] Scales) QuantizeWeight(QuantizableNode target)
    {
        var key = (target.Weight, target.WeightAxis);
        if (!_weights.TryGetValue(key, out var done))
        {
            var tensor = editor.Initializer(target.Weight)!;
            var weights = WeightQuantizer.Int8Symmetric(TensorData.ReadFloats(tensor), tensor.Dims, target.WeightAxis);
            var dequantized = AddDequantized(
                target,
                TensorData.Int8s(editor.NewName(target.Weight + "_quantized"), tensor.Dims, weights.Values),
                weights.Scales,
                zeroPoint: (name, dims) => TensorData.Int8s(name, dims, new sbyte[weights.Scales.Length]));
            done = (dequantized, weights.Scales);
            _weights[key] = done;
        }

        return done;
    }

    private string QuantizeBias(QuantizableNode target, float inputScale, float[] weightScales)
    {
        var name = target.Node.Input[2];
        var tensor = editor.Initializer(name)!;
        var bias = TensorData.ReadFloats(tensor);
        var scales = weightScales.Select(weightScale => inputScale * weightScale).ToArray();
        var values = new int[bias.Length];
        for (var i = 0; i < bias.Length; i++)
        {
            var scale = scales[scales.Length == 1 ? 0 : i];
            values[i] = (int)Math.Clamp(Math.Round(bias[i] / (double)scale, MidpointRounding.ToEven), int.MinValue, int.MaxValue);
        }

        return AddDequantized(
            target with { Weight = name },
            TensorData.Int32s(editor.NewName(name + "_quantized"), tensor.Dims, values),
            scales,
            zeroPoint: (zeroPointName, dims) => TensorData.Int32s(zeroPointName, dims, new int[scales.Length]));
    }

    /// <summary>Adds an integer constant with its DequantizeLinear before the node and points the node's readers of the float original at it.</summary>
    private string AddDequantized(QuantizableNode target, TensorProto quantized, float[] scales, Func<string, long[], TensorProto> zeroPoint)
    {
        var original = target.Weight;
        long[] scaleDims = target.WeightAxis >= 0 ? [scales.Length] : [];
        var scaleName = editor.NewName(original + "_scale");
        var zeroPointName = editor.NewName(original + "_zero_point");
        editor.AddInitializer(quantized);
        editor.AddInitializer(TensorData.Floats(scaleName, scaleDims, scales));
        editor.AddInitializer(zeroPoint(zeroPointName, scaleDims));
        var dequantized = editor.NewName(original + "_dequantized");
        var node = GraphEditor.Node("DequantizeLinear", editor.NewName(original + "_DequantizeLinear"), [quantized.Name, scaleName, zeroPointName], [dequantized], domain);
        if (target.WeightAxis >= 0)
        {
            node.WithInt("axis", target.WeightAxis);
        }

        var graph = editor.Graph;
        graph.Node.Insert(graph.Node.IndexOf(target.Node), node);
        DequantizedConstants++;
        return dequantized;
    }
}
