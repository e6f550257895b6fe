using System.Text.Json.Serialization;

namespace Serverless.Infer.Cli.Monitor;

/// <summary>How a feature is compared: set by the first value the baseline shows for it.</summary>
internal enum FeatureKind
{
    /// <summary>A number, or one element of a short numeric vector (<c>Features[2]</c>): PSI and KS.</summary>
    [JsonStringEnumMemberName("numeric")]
    Numeric,

    /// <summary>A string of few distinct values (a label): PSI over categories and chi-square.</summary>
    [JsonStringEnumMemberName("category")]
    Category,

    /// <summary>A string of many distinct values: PSI and KS of its length.</summary>
    [JsonStringEnumMemberName("text")]
    Text,

    /// <summary>A numeric vector longer than <see cref="FeatureProfile.EmbeddingMinLength"/> − 1: centroid distance and cosine.</summary>
    [JsonStringEnumMemberName("embedding")]
    Embedding,
}
