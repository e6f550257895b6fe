using System.Buffers.Binary;
using Google.Protobuf;
using Serverless.Inference.Grpc.V2;
using Serverless.Inference.Protocol;
using Serverless.Inference.Runtime;
using Serverless.Inference.Serving;
using static Serverless.Inference.Grpc.V2.ModelInferResponse.Types;

namespace Serverless.Inference.Grpc;

/// <summary>
/// The response with every output in raw_output_contents, as Triton answers: the bytes are copied once, with no
/// per-element conversion, and clients of both servers already read them.
/// </summary>
internal static class GrpcResponseWriter
{
    public static ModelInferResponse Write(InferRequest request, InferenceResult result)
    {
        var response = new ModelInferResponse
        {
            ModelName = result.ModelName,
            ModelVersion = result.Version,
            Id = request.Id ?? "",
        };

        foreach (var parameter in request.Parameters.Concat(result.Outputs.Parameters))
        {
            response.Parameters[parameter.Name] = GrpcParameters.FromCore(parameter);
        }

        foreach (var tensor in result.Outputs.Tensors)
        {
            var output = new InferOutputTensor { Name = tensor.Name, Datatype = tensor.DataType.ToProtocolName() };
            output.Shape.Add(tensor.Shape);
            response.Outputs.Add(output);
            response.RawOutputContents.Add(Raw(tensor));
        }

        return response;
    }

    private static ByteString Raw(OutputTensor tensor)
    {
        if (tensor.DataType != TensorDataType.Bytes)
        {
            return ByteString.CopyFrom(tensor.Bytes);
        }

        var size = 0L;
        for (var i = 0; i < tensor.ElementCount; i++)
        {
            size += sizeof(uint) + tensor.GetBytes(i).Length;
        }

        var raw = new byte[checked((int)size)];
        var offset = 0;
        for (var i = 0; i < tensor.ElementCount; i++)
        {
            var element = tensor.GetBytes(i);
            BinaryPrimitives.WriteUInt32LittleEndian(raw.AsSpan(offset), (uint)element.Length);
            element.CopyTo(raw.AsSpan(offset + sizeof(uint)));
            offset += sizeof(uint) + element.Length;
        }

        // The array is ours alone and never written again, so the message may hold it without a copy.
        return UnsafeByteOperations.UnsafeWrap(raw);
    }
}
