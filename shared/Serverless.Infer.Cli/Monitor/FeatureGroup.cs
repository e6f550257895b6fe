using System.Text.Json.Serialization;

namespace Serverless.Infer.Cli.Monitor;

/// <summary>Whether a feature is a model input or a model output; each group's columns are matched between the sides.</summary>
internal enum FeatureGroup
{
    [JsonStringEnumMemberName("input")]
    Input,
    [JsonStringEnumMemberName("output")]
    Output,
}
