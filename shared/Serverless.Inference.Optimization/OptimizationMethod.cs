namespace Serverless.Inference.Optimization;

/// <summary>How a variant is made from its source model.</summary>
internal enum OptimizationMethod
{
    /// <summary>MatMul/Gemm weights (and embedding tables) stored as int8; activations quantized at run time.</summary>
    Int8Dynamic,

    /// <summary>QuantizeLinear/DequantizeLinear around weights and activations, ranges from calibration inputs.</summary>
    Int8Static,

    /// <summary>Float weights stored as FP16; the caller still sends and receives FP32.</summary>
    Fp16,
}
