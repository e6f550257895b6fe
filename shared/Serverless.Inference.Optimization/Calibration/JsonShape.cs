using System.Text.Json;

namespace Serverless.Inference.Optimization.Calibration;

/// <summary>The shape of a JSON value read as a tensor: the lengths of its nested arrays, [] for a scalar.</summary>
internal static class JsonShape
{
    public static IReadOnlyList<long> Of(JsonElement value)
    {
        var shape = new List<long>();
        while (value.ValueKind == JsonValueKind.Array)
        {
            var length = value.GetArrayLength();
            shape.Add(length);
            if (length == 0)
            {
                break;
            }

            value = value[0];
        }

        return shape;
    }
}
