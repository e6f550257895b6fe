using Google.Protobuf;
using Microsoft.ML.OnnxRuntime;
using Onnx;

namespace Serverless.Inference.Tests.Optimization.Support;

/// <summary>A model run once through ONNX Runtime with one float input, at the level the hosts use (ORT_ENABLE_ALL).</summary>
internal sealed class OrtRun : IDisposable
{
    private readonly InferenceSession _session;

    public OrtRun(ModelProto model, int threads = 1)
    {
        using var options = new SessionOptions
        {
            GraphOptimizationLevel = GraphOptimizationLevel.ORT_ENABLE_ALL,
            IntraOpNumThreads = threads,
            InterOpNumThreads = 1,
        };
        _session = new InferenceSession(model.ToByteArray(), options);
    }

    public float[] Run(string input, float[] values, long[] shape)
    {
        using var tensor = OrtValue.CreateTensorValueFromMemory(values, shape);
        using var runOptions = new RunOptions();
        using var outputs = _session.Run(runOptions, [input], [tensor], [_session.OutputNames[0]]);
        return outputs[0].GetTensorDataAsSpan<float>().ToArray();
    }

    public void Dispose() => _session.Dispose();
}
