using System.Buffers;
using System.Runtime.InteropServices;
using Microsoft.ML.OnnxRuntime;
using Microsoft.ML.OnnxRuntime.Tensors;

namespace Serverless.Inference.Runtime;

/// <summary>
/// One ONNX Runtime session for one model version, shared by every request. Inputs are checked against
/// the signature before anything reaches the runtime, so a caller's mistake becomes a clear 400.
/// </summary>
public sealed class OnnxModel : IDisposable
{
    private readonly InferenceSession _session;
    private readonly int _maxBatchSize;
    private readonly string[] _allOutputNames;
    private volatile bool _disposed;

    internal OnnxModel(InferenceSession session, ModelSignature signature, int maxBatchSize)
    {
        _session = session;
        Signature = signature;
        _allOutputNames = [.. signature.Outputs.Select(output => output.Name)];
        _maxBatchSize = maxBatchSize;
    }

    /// <summary>What callers send and get back (manifest overrides applied).</summary>
    public ModelSignature Signature { get; }

    /// <summary>The model's own signature, before any manifest override.</summary>
    public ModelSignature NativeSignature { get; internal init; } = null!;

    /// <summary>The session itself, for benchmarks that compare against a bare run.</summary>
    public InferenceSession Session => _session;

    /// <summary>Runs the model. Outputs default to every exposed output, in signature order.</summary>
    public ModelOutputs Run(IReadOnlyList<InputTensor> inputs, IReadOnlyList<string>? outputNames, CancellationToken cancellationToken)
    {
        ArgumentNullException.ThrowIfNull(inputs);
        // A disposed session's native handle and name buffers are freed; running it would read freed memory.
        ObjectDisposedException.ThrowIf(_disposed, this);
        Validate(inputs);
        var outputs = outputNames is null || outputNames.Count == 0
            ? Signature.Outputs
            : [.. outputNames.Select(name => Signature.FindOutput(name) ?? throw UnknownOutput(name))];
        var runOutputNames = ReferenceEquals(outputs, Signature.Outputs) ? _allOutputNames : [.. outputs.Select(output => output.Name)];

        var names = new string[inputs.Count];
        var values = new OrtValue[inputs.Count];
        var pins = new MemoryHandle[inputs.Count];
        try
        {
            for (var i = 0; i < inputs.Count; i++)
            {
                names[i] = inputs[i].Name;
                values[i] = ToOrtValue(inputs[i], out pins[i]);
            }

            using var runOptions = new RunOptions();
            using var terminate = cancellationToken.Register(static state => ((RunOptions)state!).Terminate = true, runOptions);
            cancellationToken.ThrowIfCancellationRequested();
            IDisposableReadOnlyCollection<OrtValue> results;
            try
            {
                results = _session.Run(runOptions, names, values, runOutputNames);
            }
            catch (OnnxRuntimeException) when (cancellationToken.IsCancellationRequested)
            {
                throw new OperationCanceledException(cancellationToken);
            }
            catch (OnnxRuntimeException e)
            {
                throw InferenceException.BadRequest($"the model could not run on this input: {e.Message}");
            }

            return new ModelOutputs(outputs, results);
        }
        finally
        {
            foreach (var value in values)
            {
                value?.Dispose();
            }

            foreach (var pin in pins)
            {
                pin.Dispose();
            }
        }
    }

    public void Dispose()
    {
        _disposed = true;
        _session.Dispose();
    }

    private void Validate(IReadOnlyList<InputTensor> inputs)
    {
        // Allocation-free on the hot path: models have a handful of inputs, so pairwise checks beat a set.
        for (var index = 0; index < inputs.Count; index++)
        {
            var input = inputs[index];
            var spec = Signature.FindInput(input.Name)
                ?? throw InferenceException.BadRequest(
                    $"unknown input '{input.Name}'; the model's inputs are {string.Join(", ", Signature.Inputs.Select(i => i.Name))}");
            if (IsRepeated(inputs, index))
            {
                throw InferenceException.BadRequest($"input '{input.Name}' is given more than once");
            }

            if (spec.DataType != input.DataType)
            {
                throw InferenceException.BadRequest(
                    $"input '{input.Name}' has datatype {input.DataType.ToProtocolName()} but the model expects {spec.DataType.ToProtocolName()}");
            }

            if (spec.Shape.Count != input.Shape.Length)
            {
                throw InferenceException.BadRequest(
                    $"input '{input.Name}' has shape [{string.Join(',', input.Shape)}] but the model expects rank {spec.Shape.Count}: [{string.Join(',', spec.Shape)}]");
            }

            for (var d = 0; d < spec.Shape.Count; d++)
            {
                if (spec.Shape[d] >= 0 && spec.Shape[d] != input.Shape[d])
                {
                    throw InferenceException.BadRequest(
                        $"input '{input.Name}' has shape [{string.Join(',', input.Shape)}] but the model expects [{string.Join(',', spec.Shape)}]");
                }
            }

            if (_maxBatchSize > 0 && input.Shape.Length > 0 && input.Shape[0] > _maxBatchSize)
            {
                throw InferenceException.BadRequest(
                    $"input '{input.Name}' holds a batch of {input.Shape[0]} but this model takes at most {_maxBatchSize}");
            }
        }

        // Every input is known and none repeats, so fewer inputs than the signature means some are missing.
        if (inputs.Count < Signature.Inputs.Count)
        {
            var missing = Signature.Inputs.Where(spec => !inputs.Any(input => input.Name == spec.Name)).Select(spec => spec.Name);
            throw InferenceException.BadRequest($"missing input(s): {string.Join(", ", missing)}");
        }
    }

    private static bool IsRepeated(IReadOnlyList<InputTensor> inputs, int index)
    {
        for (var earlier = 0; earlier < index; earlier++)
        {
            if (inputs[earlier].Name == inputs[index].Name)
            {
                return true;
            }
        }

        return false;
    }

    private InferenceException UnknownOutput(string name) =>
        InferenceException.BadRequest(
            $"unknown output '{name}'; the model's outputs are {string.Join(", ", Signature.Outputs.Select(o => o.Name))}");

    private static unsafe OrtValue ToOrtValue(InputTensor input, out MemoryHandle pin)
    {
        if (input.DataType == TensorDataType.Bytes)
        {
            pin = default;
            var strings = OrtValue.CreateTensorWithEmptyStrings(OrtAllocator.DefaultInstance, input.Shape);
            var elements = input.Strings!;
            for (var i = 0; i < input.ElementCount; i++)
            {
                strings.StringTensorSetElementAt(elements[i], i);
            }

            return strings;
        }

        pin = input.Buffer.AsMemory().Pin();
        return OrtValue.CreateTensorValueWithData(
            OrtMemoryInfo.DefaultInstance,
            input.DataType.ToOnnx(),
            input.Shape,
            (IntPtr)pin.Pointer,
            input.ByteLength);
    }
}

/// <summary>The outputs of one run, owned by the caller until disposed.</summary>
public sealed class ModelOutputs : IDisposable
{
    private readonly IDisposableReadOnlyCollection<OrtValue> _values;

    internal ModelOutputs(IReadOnlyList<TensorSpec> specs, IDisposableReadOnlyCollection<OrtValue> values)
    {
        _values = values;
        Tensors = [.. specs.Zip(values, (spec, value) => new OutputTensor(spec.Name, spec.DataType, value))];
    }

    public IReadOnlyList<OutputTensor> Tensors { get; }

    public void Dispose() => _values.Dispose();
}

/// <summary>A view of one output value; valid while its <see cref="ModelOutputs"/> is not disposed.</summary>
public sealed class OutputTensor
{
    private readonly OrtValue _value;

    internal OutputTensor(string name, TensorDataType dataType, OrtValue value)
    {
        Name = name;
        DataType = dataType;
        _value = value;
        var info = value.GetTensorTypeAndShape();
        Shape = info.Shape;
        ElementCount = checked((int)info.ElementCount);
    }

    public string Name { get; }

    public TensorDataType DataType { get; }

    public long[] Shape { get; }

    public int ElementCount { get; }

    /// <summary>The little-endian element bytes of a numeric output.</summary>
    public ReadOnlySpan<byte> Bytes => _value.GetTensorMutableRawData();

    /// <remarks>FP16 comes as <see cref="Half"/>: ONNX Runtime only hands it out as its own <see cref="Float16"/>, with the same bits.</remarks>
    public ReadOnlySpan<T> AsSpan<T>()
        where T : unmanaged =>
        typeof(T) == typeof(Half)
            ? MemoryMarshal.Cast<Float16, T>(_value.GetTensorDataAsSpan<Float16>())
            : _value.GetTensorDataAsSpan<T>();

    /// <summary>One element of a BYTES output, as the UTF-8 bytes ONNX Runtime holds.</summary>
    public ReadOnlySpan<byte> GetBytes(int index) => _value.GetStringElementAsSpan(index);

}
