using Onnx;
using Serverless.Inference.Repository;

namespace Serverless.Inference.Optimization;

/// <summary>What a rewrite works from.</summary>
/// <param name="Model">The source model, parsed; rewrites work on a copy.</param>
/// <param name="SourceFolder">The source version's folder: model.onnx and the files its pipeline names (vocab, labels).</param>
/// <param name="Manifest">The model's model.json: its pipeline turns calibration rows (texts, images) into the model's tensors.</param>
/// <param name="CalibrationFile">JSONL rows in the model's request form, run through the source model to collect activation ranges (int8-static).</param>
/// <param name="Options">Choices within a method; the defaults are what the CLI uses.</param>
internal sealed record RewriteRequest(
    ModelProto Model,
    string SourceFolder,
    ModelManifest Manifest,
    string? CalibrationFile,
    RewriteOptions Options);
