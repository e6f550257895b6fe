using System.Runtime.InteropServices;
using Google.Protobuf;
using Serverless.Inference.Grpc.V2;
using Serverless.Inference.Protocol;
using Serverless.Inference.Runtime;
using static Serverless.Inference.Grpc.V2.ModelInferRequest.Types;

namespace Serverless.Inference.Grpc;

/// <summary>
/// A <see cref="ModelInferRequest"/> as the core's <see cref="InferRequest"/>, refused by the same checks as REST's
/// (<see cref="InputTensors"/>): typed contents in the field that matches the datatype, or raw contents laid out as the
/// binary tensor data extension lays them out.
/// </summary>
internal static class GrpcRequestReader
{
    public static InferRequest Read(ModelInferRequest request)
    {
        var inputs = new List<InputTensor>(request.Inputs.Count);
        try
        {
            var raw = request.RawInputContents;
            if (raw.Count > 0 && raw.Count != request.Inputs.Count)
            {
                throw InferenceException.BadRequest(
                    $"raw_input_contents has {raw.Count} entries but the request has {request.Inputs.Count} inputs; send one per input, in order");
            }

            for (var i = 0; i < request.Inputs.Count; i++)
            {
                inputs.Add(ReadInput(request.Inputs[i], raw.Count > 0 ? raw[i] : null));
            }

            var outputs = request.Outputs.Select(ReadOutput).ToList();
            InputTensors.CheckRequest(inputs, outputs);
            return new InferRequest
            {
                Id = request.Id.Length > 0 ? request.Id : null,
                Inputs = inputs,
                Outputs = outputs,
                // REST's binary extension switch; gRPC always answers with raw contents.
                Parameters = GrpcParameters.ToCore(request.Parameters, "request", "binary_data_output"),
            };
        }
        catch
        {
            inputs.ForEach(input => input.Dispose());
            throw;
        }
    }

    private static InputTensor ReadInput(InferInputTensor input, ByteString? raw)
    {
        var name = input.Name;
        if (name.Length == 0)
        {
            throw InferenceException.BadRequest("an input has no 'name'");
        }

        var shape = input.Shape.ToArray();
        var datatype = input.Datatype.Length > 0 ? input.Datatype : null;
        var (dataType, count) = InputTensors.Header(name, datatype, shape, int.MaxValue);
        var contents = input.Contents;
        if (raw is not null)
        {
            return contents is null || Fields(contents).All(field => field.Count == 0)
                ? InputTensors.FromRaw(name, dataType, shape, count, raw.Span, RawEncoding.GrpcRawContents)
                : throw InferenceException.BadRequest($"input '{name}' has both 'contents' and raw_input_contents; send one or the other");
        }

        var wanted = FieldFor(dataType)
            ?? throw InferenceException.BadRequest($"input '{name}' is {dataType.ToProtocolName()}, which has no typed contents; send it in raw_input_contents");
        contents ??= new InferTensorContents();
        var stray = Fields(contents).FirstOrDefault(field => field.Count > 0 && field.Name != wanted);
        if (stray is not null)
        {
            throw InferenceException.BadRequest($"input '{name}' is {dataType.ToProtocolName()}, whose elements go in {wanted}, not {stray.Name}");
        }

        var given = Fields(contents).Single(field => field.Name == wanted).Count;
        if (given != count)
        {
            throw given == 0
                ? InferenceException.BadRequest($"input '{name}' has neither 'contents' nor raw_input_contents")
                : InferenceException.BadRequest($"input '{name}' has {given} elements in {wanted} but its shape [{string.Join(',', shape)}] needs {count}");
        }

        if (dataType == TensorDataType.Bytes)
        {
            return InputTensor.CreateBytes(name, shape, [.. contents.BytesContents.Select(element => element.ToByteArray())]);
        }

        var tensor = InputTensor.CreateNumeric(name, dataType, shape, count);
        try
        {
            Fill(tensor, contents);
            return tensor;
        }
        catch
        {
            tensor.Dispose();
            throw;
        }
    }

    private static void Fill(InputTensor tensor, InferTensorContents contents)
    {
        switch (tensor.DataType)
        {
            case TensorDataType.Bool:
                Copy(contents.BoolContents, tensor.Bytes, value => value ? (byte)1 : (byte)0);
                break;
            case TensorDataType.Int8:
                Narrow(tensor, contents.IntContents, sbyte.MinValue, sbyte.MaxValue, value => (sbyte)value);
                break;
            case TensorDataType.Int16:
                Narrow(tensor, contents.IntContents, short.MinValue, short.MaxValue, value => (short)value);
                break;
            case TensorDataType.Int32:
                Copy(contents.IntContents, tensor.AsSpan<int>(), value => value);
                break;
            case TensorDataType.Int64:
                Copy(contents.Int64Contents, tensor.AsSpan<long>(), value => value);
                break;
            case TensorDataType.UInt8:
                Narrow(tensor, contents.UintContents, byte.MinValue, byte.MaxValue, value => (byte)value);
                break;
            case TensorDataType.UInt16:
                Narrow(tensor, contents.UintContents, ushort.MinValue, ushort.MaxValue, value => (ushort)value);
                break;
            case TensorDataType.UInt32:
                Copy(contents.UintContents, tensor.AsSpan<uint>(), value => value);
                break;
            case TensorDataType.UInt64:
                Copy(contents.Uint64Contents, tensor.AsSpan<ulong>(), value => value);
                break;
            case TensorDataType.Fp32:
                Copy(contents.Fp32Contents, tensor.AsSpan<float>(), value => value);
                break;
            case TensorDataType.Fp64:
                Copy(contents.Fp64Contents, tensor.AsSpan<double>(), value => value);
                break;
            default:
                throw new InvalidOperationException($"no typed contents for {tensor.DataType}");
        }
    }

    private static void Copy<TSource, TTarget>(IList<TSource> source, Span<TTarget> target, Func<TSource, TTarget> convert)
    {
        for (var i = 0; i < target.Length; i++)
        {
            target[i] = convert(source[i]);
        }
    }

    /// <summary>INT8/16 and UINT8/16 travel in 32-bit fields; a value that does not fit is refused, as REST refuses it.</summary>
    private static void Narrow<TSource, TTarget>(InputTensor tensor, IList<TSource> source, long min, long max, Func<TSource, TTarget> convert)
        where TSource : struct, IConvertible
        where TTarget : unmanaged
    {
        var target = MemoryMarshal.Cast<byte, TTarget>(tensor.Bytes);
        for (var i = 0; i < target.Length; i++)
        {
            var value = source[i].ToInt64(System.Globalization.CultureInfo.InvariantCulture);
            if (value < min || value > max)
            {
                throw InferenceException.BadRequest($"input '{tensor.Name}' element {i} ({value}) is not a valid {tensor.DataType.ToProtocolName()} value");
            }

            target[i] = convert(source[i]);
        }
    }

    private static RequestedOutput ReadOutput(InferRequestedOutputTensor output)
    {
        if (output.Parameters.ContainsKey("classification"))
        {
            throw InferenceException.BadRequest("the classification extension is not supported; request the output itself");
        }

        return output.Name.Length > 0 ? new RequestedOutput(output.Name, null) : throw InferenceException.BadRequest("a requested output has no 'name'");
    }

    private static string? FieldFor(TensorDataType dataType) => dataType switch
    {
        TensorDataType.Bool => "bool_contents",
        TensorDataType.Int8 or TensorDataType.Int16 or TensorDataType.Int32 => "int_contents",
        TensorDataType.Int64 => "int64_contents",
        TensorDataType.UInt8 or TensorDataType.UInt16 or TensorDataType.UInt32 => "uint_contents",
        TensorDataType.UInt64 => "uint64_contents",
        TensorDataType.Fp32 => "fp32_contents",
        TensorDataType.Fp64 => "fp64_contents",
        TensorDataType.Bytes => "bytes_contents",
        _ => null,
    };

    private static IEnumerable<ContentsField> Fields(InferTensorContents contents) =>
    [
        new("bool_contents", contents.BoolContents.Count),
        new("int_contents", contents.IntContents.Count),
        new("int64_contents", contents.Int64Contents.Count),
        new("uint_contents", contents.UintContents.Count),
        new("uint64_contents", contents.Uint64Contents.Count),
        new("fp32_contents", contents.Fp32Contents.Count),
        new("fp64_contents", contents.Fp64Contents.Count),
        new("bytes_contents", contents.BytesContents.Count),
    ];

    private sealed record ContentsField(string Name, int Count);
}
