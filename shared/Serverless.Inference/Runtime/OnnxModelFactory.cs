using System.Runtime.InteropServices;
using System.Runtime.Intrinsics.X86;
using Microsoft.ML.OnnxRuntime;
using Serverless.Inference.Pipelines.Steps;
using Serverless.Inference.Repository;

namespace Serverless.Inference.Runtime;

/// <summary>Creates sessions with explicit threading, optionally through a cached optimized graph.</summary>
internal static class OnnxModelFactory
{
    private const GraphOptimizationLevel OptimizationLevel = GraphOptimizationLevel.ORT_ENABLE_ALL;

    private static readonly Lazy<string> RuntimeVersion = new(() => OrtEnv.Instance().GetVersionString());

    /// <summary>
    /// What a cached optimized graph depends on besides the model: a graph saved by another runtime version or at
    /// another optimization level must not be loaded. Layout optimizations pick kernels for the CPU they ran on, so
    /// its instruction set counts too. Thread counts do not change the graph.
    /// </summary>
    public static string OptimizedGraphIdentity(string modelIdentity) => OptimizedGraphIdentity(modelIdentity, RuntimeVersion.Value);

    internal static string OptimizedGraphIdentity(string modelIdentity, string runtimeVersion) =>
        $"{modelIdentity}\nonnxruntime {runtimeVersion}\n{OptimizationLevel}\n{CpuFeatures()}";

    /// <param name="optimizedGraphPath">Where the optimized graph is cached, or null to skip the cache.</param>
    public static OnnxModel Create(string modelPath, ModelManifest manifest, int intraOpThreads, string? optimizedGraphPath)
    {
        using var options = new SessionOptions
        {
            // Containers often report more cores than their cpuset allows; never let the runtime guess.
            IntraOpNumThreads = Math.Max(1, intraOpThreads),
            InterOpNumThreads = 1,
            ExecutionMode = ExecutionMode.ORT_SEQUENTIAL,
            GraphOptimizationLevel = OptimizationLevel,
        };

        InferenceSession session;
        if (optimizedGraphPath is not null && File.Exists(optimizedGraphPath))
        {
            options.GraphOptimizationLevel = GraphOptimizationLevel.ORT_DISABLE_ALL;
            session = new InferenceSession(optimizedGraphPath, options);
        }
        else if (optimizedGraphPath is not null)
        {
            var temporary = optimizedGraphPath + ".part-" + Guid.NewGuid().ToString("N");
            options.OptimizedModelFilePath = temporary;
            session = new InferenceSession(modelPath, options);
            PublishOptimizedGraph(temporary, optimizedGraphPath);
        }
        else
        {
            session = new InferenceSession(modelPath, options);
        }

        try
        {
            var native = ReadSignature(session);
            var signature = ApplyOverrides(native, manifest);
            return new OnnxModel(session, signature, manifest.MaxBatchSize)
            {
                NativeSignature = native,
                RowBytes = WorkingMemory.RowBytes(signature, manifest.MemoryPerRowMb),
            };
        }
        catch
        {
            session.Dispose();
            throw;
        }
    }

    private static string CpuFeatures() => RuntimeInformation.ProcessArchitecture switch
    {
        Architecture.X64 or Architecture.X86 => Avx512F.IsSupported ? "x86 avx512" : Avx2.IsSupported ? "x86 avx2" : "x86",
        var other => other.ToString(),
    };

    private static void PublishOptimizedGraph(string temporary, string target)
    {
        try
        {
            if (File.Exists(temporary))
            {
                File.Move(temporary, target, overwrite: true);
            }
        }
        catch (IOException)
        {
            // Another process published the same graph first; theirs is as good as ours.
        }
        finally
        {
            File.Delete(temporary);
        }
    }

    private static ModelSignature ReadSignature(InferenceSession session)
    {
        var inputs = session.InputNames.Select(name => ToSpec(name, session.InputMetadata[name], isInput: true)).ToList();
        // Non-tensor outputs (maps, sequences) have no place in the protocol; they are not exposed.
        var outputs = session.OutputNames
            .Where(name => session.OutputMetadata[name].IsTensor)
            .Select(name => ToSpec(name, session.OutputMetadata[name], isInput: false))
            .ToList();
        return new ModelSignature(inputs, outputs);
    }

    private static TensorSpec ToSpec(string name, NodeMetadata metadata, bool isInput)
    {
        if (!metadata.IsTensor || !TensorDataTypes.TryFromOnnx(metadata.ElementDataType, out var dataType))
        {
            throw new InferenceException(
                InferenceErrorKind.Unavailable,
                $"{(isInput ? "input" : "output")} '{name}' is a {metadata.OnnxValueType} of {metadata.ElementDataType}, which the protocol cannot carry");
        }

        return new TensorSpec(name, dataType, [.. metadata.Dimensions.Select(d => d < 0 ? -1L : d)]);
    }

    private static ModelSignature ApplyOverrides(ModelSignature native, ModelManifest manifest)
    {
        foreach (var unknown in manifest.Inputs.Where(o => native.FindInput(o.Name) is null))
        {
            throw new InferenceException(InferenceErrorKind.Unavailable, $"model.json overrides input '{unknown.Name}', which the model does not have");
        }

        var sequenceLimits = SequenceLimits(manifest);
        var inputs = native.Inputs
            .Select(input =>
            {
                var overridden = manifest.Inputs.FirstOrDefault(o => o.Name == input.Name);
                var spec = overridden is { Shape: { } shape } ? input with { Shape = MergeShape(input, shape) } : input;
                return spec with { MaxShape = MaxShape(spec, overridden?.MaxShape, sequenceLimits.GetValueOrDefault(spec.Name)) };
            })
            .ToList();

        var outputs = manifest.Outputs.Count == 0
            ? native.Outputs
            : [.. manifest.Outputs.Select(o =>
            {
                var output = native.FindOutput(o.Name)
                    ?? throw new InferenceException(InferenceErrorKind.Unavailable, $"model.json lists output '{o.Name}', which the model does not have");
                return o.Shape is { } shape ? output with { Shape = MergeShape(output, shape) } : output;
            })];

        return new ModelSignature(inputs, outputs);
    }

    /// <summary>
    /// A tokenizing pipeline never sends the model more than its max_length tokens a text, so a caller who sends the
    /// model's own tensors gets the same bound on the sequence dimension: a longer one costs memory the model's owner
    /// never planned for (attention grows with its square).
    /// </summary>
    private static Dictionary<string, long> SequenceLimits(ModelManifest manifest) =>
        (manifest.Pipeline?.Preprocess ?? []).OfType<BertTokenizeStep>()
            .SelectMany(step => step.Produces.Select(name => (Name: name, Limit: (long)step.MaxLength)))
            .GroupBy(pair => pair.Name, StringComparer.Ordinal)
            .ToDictionary(group => group.Key, group => group.Min(pair => pair.Limit), StringComparer.Ordinal);

    private static long[]? MaxShape(TensorSpec spec, IReadOnlyList<long>? configured, long sequenceLimit)
    {
        if (configured is not null)
        {
            var fits = configured.Count == spec.Shape.Count
                && configured.Select((d, i) => d == -1 || spec.Shape[i] < 0 || d == spec.Shape[i]).All(ok => ok);
            return fits
                ? [.. configured]
                : throw new InferenceException(
                    InferenceErrorKind.Unavailable,
                    $"model.json gives '{spec.Name}' the max_shape [{string.Join(',', configured)}], which does not fit its shape [{string.Join(',', spec.Shape)}]");
        }

        // The sequence is the second dimension of a [batch, sequence] tensor.
        return sequenceLimit > 0 && spec.Shape.Count == 2 && spec.Shape[1] < 0 ? [-1, sequenceLimit] : null;
    }

    private static long[] MergeShape(TensorSpec spec, IReadOnlyList<long> shape)
    {
        var compatible = shape.Count == spec.Shape.Count
            && shape.Select((d, i) => d >= -1 && (spec.Shape[i] < 0 || d == spec.Shape[i])).All(ok => ok);
        return compatible
            ? [.. shape]
            : throw new InferenceException(
                InferenceErrorKind.Unavailable,
                $"model.json gives '{spec.Name}' the shape [{string.Join(',', shape)}], which does not fit the model's [{string.Join(',', spec.Shape)}]");
    }
}
