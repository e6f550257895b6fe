using Microsoft.Extensions.Configuration;

namespace Serverless.Functions.Azure.Streaming;

/// <summary>The webhook's settings: which CloudEvents attribute keys an event (<see cref="AzureContract.StreamPartitionAttributeSetting"/>).</summary>
public sealed class StreamWebhookSettings
{
    public const string DefaultPartitionAttribute = "subject";

    private StreamWebhookSettings(string partitionAttribute)
    {
        PartitionAttribute = partitionAttribute;
        Reader = new EventDeliveryReader(partitionAttribute);
    }

    public string PartitionAttribute { get; }

    internal EventDeliveryReader Reader { get; }

    /// <summary>CloudEvents attribute names are lower-case letters and digits, at most 20 of them by the spec.</summary>
    public static StreamWebhookSettings From(IConfiguration configuration)
    {
        ArgumentNullException.ThrowIfNull(configuration);
        var name = configuration[AzureContract.StreamPartitionAttributeSetting.Replace("__", ":", StringComparison.Ordinal)];
        if (string.IsNullOrWhiteSpace(name))
        {
            return new StreamWebhookSettings(DefaultPartitionAttribute);
        }

        return name.Length <= 20 && name.All(c => char.IsAsciiLetterLower(c) || char.IsAsciiDigit(c))
            ? new StreamWebhookSettings(name)
            : throw new InvalidOperationException($"The setting {AzureContract.StreamPartitionAttributeSetting} names a CloudEvents attribute (lower-case letters and digits, at most 20), not '{name}'.");
    }
}
