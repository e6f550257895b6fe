using Google.Protobuf;
using Microsoft.ML.OnnxRuntime;
using Onnx;
using Serverless.Inference.Optimization.Onnx;

namespace Serverless.Inference.Tests.Optimization.Support;

/// <summary>
/// Small ONNX models written with the ONNX protobuf classes, and a run of a model through the real ONNX Runtime.
/// </summary>
internal static class TinyGraph
{
    public static ModelProto Model(int opset, IEnumerable<NodeProto> nodes, IEnumerable<ValueInfoProto> inputs, IEnumerable<ValueInfoProto> outputs, params TensorProto[] initializers)
    {
        var graph = new GraphProto { Name = "tiny" };
        graph.Node.AddRange(nodes);
        graph.Input.AddRange(inputs);
        graph.Output.AddRange(outputs);
        graph.Initializer.AddRange(initializers);
        var model = new ModelProto { IrVersion = 7, ProducerName = "tests", Graph = graph };
        model.OpsetImport.Add(new OperatorSetIdProto { Domain = string.Empty, Version = opset });
        return model;
    }

    public static ValueInfoProto Tensor(string name, int elementType, params long[] dims)
    {
        var shape = new TensorShapeProto();
        shape.Dim.AddRange(dims.Select(dim => new TensorShapeProto.Types.Dimension { DimValue = dim }));
        return new ValueInfoProto
        {
            Name = name,
            Type = new TypeProto { TensorType = new TypeProto.Types.Tensor { ElemType = elementType, Shape = shape } },
        };
    }

    public static ValueInfoProto Floats(string name, params long[] dims) => Tensor(name, TensorData.Float, dims);

    /// <summary>Runs the model (at the given optimization level) on float and int64 inputs; returns the first output's values.</summary>
    public static float[] Run(ModelProto model, GraphOptimizationLevel level, params (string Name, Array Values, long[] Shape)[] inputs)
    {
        using var options = new SessionOptions { GraphOptimizationLevel = level, IntraOpNumThreads = 1 };
        using var session = new InferenceSession(model.ToByteArray(), options);
        var values = inputs.Select(input => input.Values switch
        {
            float[] floats => OrtValue.CreateTensorValueFromMemory(floats, input.Shape),
            long[] longs => OrtValue.CreateTensorValueFromMemory(longs, input.Shape),
            _ => throw new ArgumentException($"input '{input.Name}' holds {input.Values.GetType()}", nameof(inputs)),
        }).ToList();
        try
        {
            using var runOptions = new RunOptions();
            using var results = session.Run(runOptions, [.. inputs.Select(input => input.Name)], values, [session.OutputNames[0]]);
            return results[0].GetTensorDataAsSpan<float>().ToArray();
        }
        finally
        {
            values.ForEach(value => value.Dispose());
        }
    }

    /// <summary>The graph ONNX Runtime runs after its own optimizations, as it saves it.</summary>
    public static ModelProto Optimized(ModelProto model, GraphOptimizationLevel level)
    {
        var path = Path.Combine(Path.GetTempPath(), $"optimized-{Guid.NewGuid():N}.onnx");
        try
        {
            using (var options = new SessionOptions { GraphOptimizationLevel = level, OptimizedModelFilePath = path })
            using (new InferenceSession(model.ToByteArray(), options))
            {
            }

            return OnnxModelFile.Load(path);
        }
        finally
        {
            File.Delete(path);
        }
    }
}
