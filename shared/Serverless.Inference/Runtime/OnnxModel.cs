using System.Buffers;
using System.Runtime.InteropServices;
using Microsoft.ML.OnnxRuntime;
using Microsoft.ML.OnnxRuntime.Tensors;

namespace Serverless.Inference.Runtime;

/// <summary>
/// One ONNX Runtime session for one model version, shared by every request. Inputs are checked against
/// the signature before anything reaches the runtime, so a caller's mistake becomes a clear 400.
/// </summary>
internal sealed class OnnxModel : IInferenceModel, IDisposable
{
    /// <summary>Runs estimated above this give their arena memory back when they end; smaller ones keep it for the next run.</summary>
    private const long ShrinkArenaAfterBytes = 32L << 20;

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

    /// <summary>The most rows one run may hold (the manifest's max_batch_size); 0 for no limit.</summary>
    internal int MaxBatchSize => _maxBatchSize;

    /// <summary>The working memory one row takes at the largest shape the model accepts.</summary>
    internal long RowBytes { get; init; }

    public long EstimateWorkingBytes(IReadOnlyList<InputTensor> inputs) => WorkingMemory.Estimate(Signature, inputs, _maxBatchSize, RowBytes);

    /// <summary>The session itself, for benchmarks that compare against a bare run.</summary>
    public InferenceSession Session => _session;

    /// <summary>Runs the model. Outputs default to every exposed output, in signature order.</summary>
    public ModelOutputs Run(IReadOnlyList<InputTensor> inputs, IReadOnlyList<string>? outputNames, CancellationToken cancellationToken)
    {
        ArgumentNullException.ThrowIfNull(inputs);
        // A disposed session's native handle and name buffers are freed; running it would read freed memory.
        ObjectDisposedException.ThrowIf(_disposed, this);
        SignatureChecks.Validate(Signature, inputs, _maxBatchSize);
        var outputs = outputNames is null || outputNames.Count == 0
            ? Signature.Outputs
            : [.. outputNames.Select(name => Signature.FindOutput(name) ?? throw SignatureChecks.UnknownOutput(Signature, name))];
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
            if (EstimateWorkingBytes(inputs) >= ShrinkArenaAfterBytes)
            {
                // The arena keeps what a large run allocated; shrinking it after such a run hands the spike back, so
                // memory after a burst of large requests returns to the weights and what small runs use.
                runOptions.AddRunConfigEntry("memory.enable_memory_arena_shrinkage", "cpu:0");
            }
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
                throw new InferenceException(InferenceErrorKind.BadRequest, $"the model could not run on this input: {OnnxErrors.CallerText(e.Message)}", e)
                {
                    Detail = e.Message,
                };
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
