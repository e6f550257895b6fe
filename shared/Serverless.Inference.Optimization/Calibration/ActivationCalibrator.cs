using Onnx;
using Serverless.Inference.Optimization.Onnx;
using Serverless.Inference.Optimization.Quantization;
using Serverless.Inference.Pipelines;
using Serverless.Inference.Repository;
using Serverless.Inference.Runtime;

namespace Serverless.Inference.Optimization.Calibration;

/// <summary>
/// Collects the range of each activation to be quantized: a copy of the model that also outputs those tensors runs
/// the calibration rows through ONNX Runtime, and each tensor's min and max over all rows is kept (MinMax
/// calibration, as ONNX Runtime's quantization tool does by default).
/// </summary>
internal static class ActivationCalibrator
{
    public const string NoCalibrationFile = "int8-static needs calibration rows: a JSON lines file of the model's inputs (--calibration FILE)";

    public static ActivationRanges Collect(ModelProto model, IReadOnlyCollection<string> tensors, RewriteRequest request, CancellationToken cancellationToken)
    {
        var calibrationFile = request.CalibrationFile
            ?? throw new OptimizationException(NoCalibrationFile);
        if (request.Options.CalibrationRows < 1)
        {
            throw new OptimizationException($"int8-static needs at least one calibration row; {request.Options.CalibrationRows} were allowed");
        }

        var graphInputs = model.Graph.Input.Select(input => input.Name).ToHashSet(StringComparer.Ordinal);
        var graphOutputs = model.Graph.Output.Select(output => output.Name).ToHashSet(StringComparer.Ordinal);
        var augmented = model.Clone();
        foreach (var tensor in tensors.Where(tensor => !graphInputs.Contains(tensor) && !graphOutputs.Contains(tensor)))
        {
            augmented.Graph.Output.Add(new ValueInfoProto
            {
                Name = tensor,
                Type = new TypeProto { TensorType = new TypeProto.Types.Tensor { ElemType = TensorData.Float } },
            });
        }

        using var scratch = new ScratchFolder();
        var path = scratch.File(ModelFilePath.ModelFileName);
        OnnxModelFile.Save(augmented, path);
        var ranges = tensors.ToDictionary(tensor => tensor, _ => ActivationRange.Empty, StringComparer.Ordinal);
        string[] outputNames = [.. tensors.Where(tensor => !graphInputs.Contains(tensor))];
        var rows = 0;
        try
        {
            var threads = request.Manifest.IntraOpThreads > 0 ? request.Manifest.IntraOpThreads : Environment.ProcessorCount;
            using var session = OnnxModelFactory.Create(path, request.Manifest, threads, optimizedGraphPath: null);
            var pipeline = request.Manifest.Pipeline is { } manifest
                ? PipelineModel.Create(session, manifest, Assets(request, manifest), ModelFilePath.ManifestFileName)
                : null;
            using var reader = new CalibrationRows(session, pipeline);
            foreach (var row in reader.Read(calibrationFile, request.Options.CalibrationRows, cancellationToken))
            {
                foreach (var input in row.Where(input => ranges.ContainsKey(input.Name)))
                {
                    ranges[input.Name] = ranges[input.Name].Including(input.AsSpan<float>());
                }

                // Asked for no outputs, a session returns them all: the inputs alone need no run.
                if (outputNames.Length > 0)
                {
                    using var outputs = session.Run(row, outputNames, cancellationToken);
                    foreach (var output in outputs.Tensors)
                    {
                        ranges[output.Name] = ranges[output.Name].Including(output.AsSpan<float>());
                    }
                }

                rows++;
            }
        }
        catch (InferenceException e)
        {
            throw new OptimizationException($"calibration failed after {rows} row(s): {e.Message}", e);
        }

        return new ActivationRanges(ranges, rows);
    }

    /// <summary>The files the pipeline's steps name (vocabulary, labels), in the source version's folder.</summary>
    private static Dictionary<string, string> Assets(RewriteRequest request, PipelineManifest pipeline)
    {
        var assets = new Dictionary<string, string>(StringComparer.Ordinal);
        foreach (var asset in pipeline.Preprocess.Concat(pipeline.Postprocess).SelectMany(step => step.Assets))
        {
            // The manifest names them; a name with a folder in it would reach outside the version's folder.
            if (asset.Length == 0 || Path.GetFileName(asset) != asset || asset is "." or "..")
            {
                throw new OptimizationException($"the pipeline names a file '{asset}' that is not a plain file name");
            }

            assets[asset] = Path.Combine(request.SourceFolder, asset);
        }

        return assets;
    }
}
