using Google.Protobuf;
using Microsoft.ML.OnnxRuntime;
using Onnx;
using Serverless.Inference.Optimization;
using Serverless.Inference.Optimization.Onnx;
using Serverless.Inference.Repository;

namespace Serverless.Inference.Tests.Optimization;

/// <summary>Small graphs written with the ONNX protobuf classes for the FP16 tests, and ONNX Runtime to run them.</summary>
internal static class Float16Graphs
{
    public const int FloatType = TensorData.Float;
    public const int HalfType = TensorData.Float16;
    public const int Int64Type = TensorData.Int64;

    /// <summary>A model of one graph importing the default domain at <paramref name="opset"/>.</summary>
    public static ModelProto Model(int opset = 13)
    {
        var model = new ModelProto { IrVersion = 8, ProducerName = "Float16Graphs", Graph = new GraphProto { Name = "test" } };
        model.OpsetImport.Add(new OperatorSetIdProto { Domain = "", Version = opset });
        return model;
    }

    public static ValueInfoProto Value(string name, int elementType, params long[] dims)
    {
        var shape = new TensorShapeProto();
        foreach (var dim in dims)
        {
            shape.Dim.Add(new TensorShapeProto.Types.Dimension { DimValue = dim });
        }

        return new ValueInfoProto { Name = name, Type = new TypeProto { TensorType = new TypeProto.Types.Tensor { ElemType = elementType, Shape = shape } } };
    }

    public static NodeProto Node(string opType, string[] inputs, string[] outputs) => GraphEditor.Node(opType, outputs[0] + "_node", inputs, outputs);

    public static RewriteRequest Request(ModelProto model) => new(model, Path.GetTempPath(), new ModelManifest(), null, RewriteOptions.Default);

    public static RewriteResult Fp16(ModelProto model) => GraphRewrites.For(OptimizationMethod.Fp16).Rewrite(Request(model), CancellationToken.None);

    /// <summary>Runs a model with one input and returns its first output as floats.</summary>
    public static float[] Run<T>(ModelProto model, string input, T[] values, params long[] shape)
        where T : unmanaged
    {
        using var options = new SessionOptions { IntraOpNumThreads = 1 };
        using var session = new InferenceSession(model.ToByteArray(), options);
        using var value = OrtValue.CreateTensorValueFromMemory(values, shape);
        using var runOptions = new RunOptions();
        using var results = session.Run(runOptions, new[] { input }, new[] { value }, new[] { session.OutputNames[0] });
        return results[0].GetTensorDataAsSpan<float>().ToArray();
    }

    public static TensorProto Initializer(ModelProto model, string name) => model.Graph.Initializer.Single(tensor => tensor.Name == name);

    /// <summary>The values of an FP16 initializer, widened to float.</summary>
    public static float[] HalfValues(TensorProto tensor)
    {
        Assert.Equal(HalfType, tensor.DataType);
        var raw = tensor.RawData.ToByteArray();
        var values = new float[raw.Length / 2];
        for (var i = 0; i < values.Length; i++)
        {
            values[i] = (float)BitConverter.ToHalf(raw, i * 2);
        }

        return values;
    }

    /// <summary>The node that makes a tensor.</summary>
    public static NodeProto Producer(ModelProto model, string tensor) => model.Graph.Node.Single(node => node.Output.Contains(tensor));

    public static long CastTo(NodeProto cast)
    {
        Assert.Equal("Cast", cast.OpType);
        return cast.Attribute.Single(attribute => attribute.Name == "to").I;
    }

    public static int ElementType(ValueInfoProto value) => value.Type.TensorType.ElemType;

    public static float RoundToHalf(float value) => (float)(Half)value;
}
