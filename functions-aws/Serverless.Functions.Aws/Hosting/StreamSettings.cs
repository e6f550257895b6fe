using Serverless.Functions.Aws.Queues;
using Serverless.Inference.Repository;

namespace Serverless.Functions.Aws;

/// <summary>The stream function's settings: the model Kinesis records are scored with, and the queue alerts go to.</summary>
/// <param name="Version">Null: the version the model's manifest serves by default.</param>
internal sealed record StreamSettings(string Model, string? Version, SqsQueueAddress AlertQueue)
{
    /// <summary>Null when <see cref="LambdaContract.StreamModelVariable"/> is not set (the HTTP and batch functions).</summary>
    /// <param name="read">A variable's trimmed value, or null when unset or empty.</param>
    /// <param name="bucket">The function's bucket: predictions and stream state are written there.</param>
    public static StreamSettings? From(Func<string, string?> read, string? bucket)
    {
        ArgumentNullException.ThrowIfNull(read);
        var model = read(LambdaContract.StreamModelVariable);
        var version = read(LambdaContract.StreamModelVersionVariable);
        var alerts = read(LambdaContract.AlertQueueUrlVariable);
        if (model is null)
        {
            return version is null && alerts is null
                ? null
                : throw new InvalidOperationException(
                    $"{LambdaContract.StreamModelVersionVariable} and {LambdaContract.AlertQueueUrlVariable} belong to the stream function: set {LambdaContract.StreamModelVariable} too, or neither");
        }

        if (!ModelNames.IsValid(model))
        {
            throw new InvalidOperationException($"{LambdaContract.StreamModelVariable} must be a model name, not '{ModelNames.Printable(model)}'");
        }

        if (version is not null && !ModelNames.IsValid(version))
        {
            throw new InvalidOperationException($"{LambdaContract.StreamModelVersionVariable} must be a model version, not '{ModelNames.Printable(version)}'");
        }

        if (bucket is null)
        {
            throw new InvalidOperationException($"{LambdaContract.StreamModelVariable} needs the bucket predictions and stream state are written to: set {LambdaContract.BucketVariable}");
        }

        var queue = alerts is null
            ? throw new InvalidOperationException($"{LambdaContract.StreamModelVariable} needs the queue alerts are sent to: set {LambdaContract.AlertQueueUrlVariable}")
            : SqsQueueAddress.TryParse(alerts) ?? throw new InvalidOperationException(
                $"{LambdaContract.AlertQueueUrlVariable} must be an SQS queue URL (https://sqs.<region>.amazonaws.com/<account>/<queue>), not '{ModelNames.Printable(alerts)}'");
        return new StreamSettings(model, version, queue);
    }
}
