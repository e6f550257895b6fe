using Microsoft.ML.OnnxRuntime;
using Microsoft.ML.OnnxRuntime.Tensors;

// The least a process can do to answer one inference: create a session on the model given as the argument (all graph
// optimisations, the intra-op threads given, 1 by default, as the hosts create theirs), run it once on inputs made
// from the session's own input metadata, exit 0. A dynamic first dimension (the batch) is 1, any other dynamic one 8;
// floats are 0.5, integers 1 (a valid token id, a full attention mask), strings "a".
var threads = 1;
if (args.Length is < 1 or > 2
    || (args.Length == 2 && !int.TryParse(args[1], System.Globalization.NumberStyles.None, System.Globalization.CultureInfo.InvariantCulture, out threads)))
{
    Console.Error.WriteLine("usage: Serverless.Inference.ColdStartBaseline <path to model.onnx> [intra-op threads]");
    return 2;
}

using var options = new SessionOptions
{
    IntraOpNumThreads = threads,
    InterOpNumThreads = 1,
    GraphOptimizationLevel = GraphOptimizationLevel.ORT_ENABLE_ALL,
};
using var session = new InferenceSession(args[0], options);
var names = new List<string>();
var inputs = new List<OrtValue>();
try
{
    foreach (var (name, metadata) in session.InputMetadata)
    {
        var shape = metadata.Dimensions.Select((size, axis) => size > 0 ? size : axis == 0 ? 1L : 8L).ToArray();
        var count = (int)shape.Aggregate(1L, (product, size) => product * size);
        names.Add(name);
        inputs.Add(metadata.ElementDataType switch
        {
            TensorElementType.Float => OrtValue.CreateTensorValueFromMemory(Enumerable.Repeat(0.5f, count).ToArray(), shape),
            TensorElementType.Double => OrtValue.CreateTensorValueFromMemory(Enumerable.Repeat(0.5, count).ToArray(), shape),
            TensorElementType.Int64 => OrtValue.CreateTensorValueFromMemory(Enumerable.Repeat(1L, count).ToArray(), shape),
            TensorElementType.Int32 => OrtValue.CreateTensorValueFromMemory(Enumerable.Repeat(1, count).ToArray(), shape),
            TensorElementType.String => OrtValue.CreateFromStringTensor(new DenseTensor<string>(Enumerable.Repeat("a", count).ToArray(), [.. shape.Select(size => (int)size)])),
            var type => throw new NotSupportedException($"input {name} is {type}: the baseline makes float, double, int64, int32 and string inputs"),
        });
    }

    using var runOptions = new RunOptions();
    using var results = session.Run(runOptions, names, inputs, session.OutputNames);

    // Every output is computed (as the host does); the answer counts if a float output is finite.
    var scores = results.First(r => r.GetTensorTypeAndShape().ElementDataType == TensorElementType.Float).GetTensorDataAsSpan<float>();
    return scores.Length > 0 && float.IsFinite(scores[0]) ? 0 : 1;
}
finally
{
    foreach (var input in inputs)
    {
        input.Dispose();
    }
}
