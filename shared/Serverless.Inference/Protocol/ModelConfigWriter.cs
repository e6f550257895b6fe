using System.Text.Json;
using Serverless.Inference.Hosting;
using Serverless.Inference.Runtime;

namespace Serverless.Inference.Protocol;

/// <summary>
/// Triton's model configuration extension (<c>GET /v2/models/{m}/config</c>): the manifest and the tensors callers send,
/// as the JSON form of Triton's <c>ModelConfig</c> message, for clients written against Triton.
/// </summary>
internal static class ModelConfigWriter
{
    public const string Backend = "onnxruntime";

    public static void Write(Utf8JsonWriter w, ModelLease lease)
    {
        var manifest = lease.Manifest;
        var signature = lease.Endpoint.Signature;
        w.WriteString("name"u8, lease.Name);
        w.WriteString("platform"u8, manifest.Platform);
        w.WriteString("backend"u8, Backend);
        w.WriteNumber("max_batch_size"u8, manifest.MaxBatchSize);
        WriteTensors(w, "input"u8, signature.Inputs, manifest.MaxBatchSize > 0);
        WriteTensors(w, "output"u8, signature.Outputs, manifest.MaxBatchSize > 0);
        if (manifest.DynamicBatching is { } batching)
        {
            w.WriteStartObject("dynamic_batching"u8);
            w.WriteStartArray("preferred_batch_size"u8);
            // Triton fills an empty list with max_batch_size when it loads a model, and so does the batcher here.
            foreach (var size in batching.PreferredBatchSize is { Count: > 0 } preferred ? preferred : [manifest.MaxBatchSize])
            {
                w.WriteNumberValue(size);
            }

            w.WriteEndArray();
            w.WriteNumber("max_queue_delay_microseconds"u8, batching.MaxQueueDelayMicroseconds);
            w.WriteStartObject("default_queue_policy"u8);
            w.WriteNumber("max_queue_size"u8, batching.MaxQueueSize);
            w.WriteEndObject();
            w.WriteEndObject();
        }
    }

    /// <summary>Triton's <c>DataType</c> enum names; BYTES is TYPE_STRING there.</summary>
    public static string TritonName(TensorDataType type) => type switch
    {
        TensorDataType.Bool => "TYPE_BOOL",
        TensorDataType.Int8 => "TYPE_INT8",
        TensorDataType.Int16 => "TYPE_INT16",
        TensorDataType.Int32 => "TYPE_INT32",
        TensorDataType.Int64 => "TYPE_INT64",
        TensorDataType.UInt8 => "TYPE_UINT8",
        TensorDataType.UInt16 => "TYPE_UINT16",
        TensorDataType.UInt32 => "TYPE_UINT32",
        TensorDataType.UInt64 => "TYPE_UINT64",
        TensorDataType.Fp16 => "TYPE_FP16",
        TensorDataType.Fp32 => "TYPE_FP32",
        TensorDataType.Fp64 => "TYPE_FP64",
        TensorDataType.Bytes => "TYPE_STRING",
        _ => "TYPE_INVALID",
    };

    /// <remarks>
    /// With batching on, Triton's dims leave out the leading batch dimension that every request adds. A batch of
    /// scalars (a text per row) has no dims left: Triton writes that as dims [1] reshaped to [], and so do we.
    /// </remarks>
    private static void WriteTensors(Utf8JsonWriter w, ReadOnlySpan<byte> property, IReadOnlyList<TensorSpec> tensors, bool batched)
    {
        w.WriteStartArray(property);
        foreach (var tensor in tensors)
        {
            w.WriteStartObject();
            w.WriteString("name"u8, tensor.Name);
            w.WriteString("data_type"u8, TritonName(tensor.DataType));
            w.WriteStartArray("dims"u8);
            var first = batched && tensor.Shape.Count > 0 ? 1 : 0;
            for (var i = first; i < tensor.Shape.Count; i++)
            {
                w.WriteNumberValue(tensor.Shape[i]);
            }

            var scalarRows = first == tensor.Shape.Count;
            if (scalarRows)
            {
                w.WriteNumberValue(1);
            }

            w.WriteEndArray();
            if (scalarRows)
            {
                w.WriteStartObject("reshape"u8);
                w.WriteStartArray("shape"u8);
                w.WriteEndArray();
                w.WriteEndObject();
            }

            w.WriteEndObject();
        }

        w.WriteEndArray();
    }
}
