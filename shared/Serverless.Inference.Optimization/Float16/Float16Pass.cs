using Onnx;

namespace Serverless.Inference.Optimization.Float16;

/// <summary>One conversion of a graph to FP16, before ONNX Runtime has seen it.</summary>
/// <param name="Model">The converted model.</param>
/// <param name="Float16Ops">Operator types that run in FP16, sorted.</param>
/// <param name="KeptFloat32Ops">Operator types that compute on float tensors and stay in FP32, sorted.</param>
/// <param name="Casts">Cast nodes added (between the precisions, and in front of FP32 graph outputs).</param>
/// <param name="ConvertedInitializers">Float initializers now stored as FP16.</param>
/// <param name="Clamped">Weight values beyond ±65504 clamped to it.</param>
/// <param name="RewrittenNodes">Source nodes that run in FP16, had an input or output cast, or changed a type attribute.</param>
internal sealed record Float16Pass(
    ModelProto Model,
    IReadOnlyList<string> Float16Ops,
    IReadOnlyList<string> KeptFloat32Ops,
    int Casts,
    int ConvertedInitializers,
    int Clamped,
    int RewrittenNodes);
