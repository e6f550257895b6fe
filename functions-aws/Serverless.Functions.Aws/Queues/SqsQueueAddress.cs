namespace Serverless.Functions.Aws.Queues;

/// <summary>
/// An SQS queue as its URL names it: <c>https://sqs.&lt;region&gt;.amazonaws.com/&lt;account&gt;/&lt;name&gt;</c> on AWS,
/// <c>http://host:port/&lt;account&gt;/&lt;name&gt;</c> on moto or LocalStack. The account and name are what an event
/// source's ARN (<c>arn:&lt;partition&gt;:sqs:&lt;region&gt;:&lt;account&gt;:&lt;name&gt;</c>) is compared with.
/// </summary>
internal sealed record SqsQueueAddress(string Url, string Account, string Name)
{
    /// <summary>SQS's limit on a queue name (FIFO queues included, with their ".fifo").</summary>
    private const int MaxNameLength = 80;

    public static SqsQueueAddress? TryParse(string url)
    {
        ArgumentNullException.ThrowIfNull(url);
        if (!Uri.TryCreate(url, UriKind.Absolute, out var uri)
            || uri.Scheme is not ("https" or "http")
            || !string.IsNullOrEmpty(uri.Query)
            || !string.IsNullOrEmpty(uri.Fragment))
        {
            return null;
        }

        var segments = uri.AbsolutePath.Trim('/').Split('/');
        return segments is [var account, var name] && IsAccount(account) && IsQueueName(name)
            ? new SqsQueueAddress(url, account, name)
            : null;
    }

    /// <summary>Whether an event source ARN names this queue (same account and name; the region is the function's own).</summary>
    public bool IsArn(string? arn)
    {
        if (arn is null)
        {
            return false;
        }

        var fields = arn.Split(':');
        return fields is ["arn", _, "sqs", _, var account, var name]
            && string.Equals(account, Account, StringComparison.Ordinal)
            && string.Equals(name, Name, StringComparison.Ordinal);
    }

    private static bool IsAccount(string account) => account.Length == 12 && account.All(char.IsAsciiDigit);

    private static bool IsQueueName(string name) =>
        name.Length is > 0 and <= MaxNameLength && name.All(c => char.IsAsciiLetterOrDigit(c) || c is '-' or '_' or '.');
}
