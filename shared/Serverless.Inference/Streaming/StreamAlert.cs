using System.Text.Json;

namespace Serverless.Inference.Streaming;

/// <summary>
/// A rule fired on a record. <paramref name="Id"/> is a hash of model, version, rule, partition key and position, so
/// a send repeated after a failure carries the same id and a consumer can drop the repeat.
/// </summary>
/// <param name="Prediction">The record's outputs, as in its predictions line.</param>
public sealed record StreamAlert(
    string Id,
    string Model,
    string ModelVersion,
    string Rule,
    string PartitionKey,
    string Position,
    DateTimeOffset Timestamp,
    JsonElement Prediction);
