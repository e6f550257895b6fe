using System.Globalization;
using System.Text;
using System.Text.Json;
using Google.Protobuf.Collections;
using Serverless.Inference.Grpc.V2;
using Serverless.Inference.Protocol;

namespace Serverless.Inference.Grpc;

/// <summary>
/// gRPC's typed parameters to and from the core's <see cref="Parameter"/>, which keeps a value as the JSON text REST
/// sent: the response carries them back the same way on both transports.
/// </summary>
internal static class GrpcParameters
{
    public static List<Parameter> ToCore(MapField<string, InferParameter> parameters, string owner, params string[] ignored)
    {
        var result = new List<Parameter>(parameters.Count);
        foreach (var (name, value) in parameters)
        {
            if (!ignored.Contains(name))
            {
                result.Add(new Parameter(name, ToJson(name, value, owner)));
            }
        }

        return result;
    }

    public static InferParameter FromCore(Parameter parameter)
    {
        var reader = new Utf8JsonReader(parameter.RawJsonValue);
        reader.Read();
        return reader.TokenType switch
        {
            JsonTokenType.True => new InferParameter { BoolParam = true },
            JsonTokenType.False => new InferParameter { BoolParam = false },
            JsonTokenType.String => new InferParameter { StringParam = reader.GetString() },
            JsonTokenType.Number when reader.TryGetInt64(out var signed) => new InferParameter { Int64Param = signed },
            JsonTokenType.Number when reader.TryGetUInt64(out var unsigned) => new InferParameter { Uint64Param = unsigned },
            _ => new InferParameter { DoubleParam = reader.GetDouble() },
        };
    }

    private static byte[] ToJson(string name, InferParameter value, string owner) => value.ParameterChoiceCase switch
    {
        InferParameter.ParameterChoiceOneofCase.BoolParam => value.BoolParam ? "true"u8.ToArray() : "false"u8.ToArray(),
        InferParameter.ParameterChoiceOneofCase.Int64Param => Encoding.UTF8.GetBytes(value.Int64Param.ToString(CultureInfo.InvariantCulture)),
        InferParameter.ParameterChoiceOneofCase.Uint64Param => Encoding.UTF8.GetBytes(value.Uint64Param.ToString(CultureInfo.InvariantCulture)),
        // JSON has no NaN or infinity, and REST could not have sent one either.
        InferParameter.ParameterChoiceOneofCase.DoubleParam when double.IsFinite(value.DoubleParam) =>
            Encoding.UTF8.GetBytes(value.DoubleParam.ToString("R", CultureInfo.InvariantCulture)),
        InferParameter.ParameterChoiceOneofCase.DoubleParam => throw InferenceException.BadRequest($"the {owner} parameter '{name}' must be a finite number"),
        InferParameter.ParameterChoiceOneofCase.StringParam => [(byte)'"', .. JsonEncodedText.Encode(value.StringParam).EncodedUtf8Bytes, (byte)'"'],
        _ => throw InferenceException.BadRequest($"the {owner} parameter '{name}' has no value"),
    };
}
