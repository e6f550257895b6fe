namespace Serverless.Inference.Streaming;

internal static class StreamAlertIds
{
    /// <summary>The same for every send of one rule's alert on one record, whoever sends it.</summary>
    public static string For(string model, string version, string rule, string partitionKey, string position) =>
        StreamKeys.Hash(string.Join('\n', model, version, rule, partitionKey, position));
}
