using Microsoft.ML.OnnxRuntime;
using Microsoft.ML.OnnxRuntime.Tensors;

// The least a process can do to answer one inference: create a session on the model given as the
// argument (one intra-op thread, as the iris manifest asks), run one row through it, exit 0.
if (args.Length != 1)
{
    Console.Error.WriteLine("usage: dotnet Serverless.Inference.ColdStartBaseline.dll <path to model.onnx>");
    return 2;
}

using var options = new SessionOptions { IntraOpNumThreads = 1 };
using var session = new InferenceSession(args[0], options);
float[] features = [5.1f, 3.5f, 1.4f, 0.2f];
using var input = OrtValue.CreateTensorValueFromMemory(features, [1, 4]);
using var runOptions = new RunOptions();
using var results = session.Run(runOptions, [session.InputNames[0]], [input], session.OutputNames);

// Every output is computed (as the host does); the answer counts if a float output (the scores) is finite.
var scores = results.First(r => r.GetTensorTypeAndShape().ElementDataType == TensorElementType.Float).GetTensorDataAsSpan<float>();
return scores.Length > 0 && float.IsFinite(scores[0]) ? 0 : 1;
