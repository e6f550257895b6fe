using Amazon.CDK;
using Amazon.CDK.AWS.Events;
using Amazon.CDK.AWS.Lambda;
using Constructs;
using LambdaTarget = Amazon.CDK.AWS.Events.Targets.LambdaFunction;

namespace Serverless.Infra.Aws.Constructs;

/// <summary>
/// An EventBridge schedule that invokes the function with the standard "Scheduled Event" (source aws.events): the
/// function then scores files under incoming/ whose S3 notification never arrived. No custom input, so the event is
/// the one EventBridge documents and the function can tell it apart by its shape.
/// </summary>
internal sealed class IncomingSweep : Construct
{
    // Lambda's limit for the age of an asynchronous event.
    private const int MaxEventAgeMinutes = 360;

    public IncomingSweep(Construct scope, string id, IFunction function, int intervalMinutes) : base(scope, id)
    {
        Rule = new Rule(this, "Schedule", new RuleProps
        {
            Description = "Sweeps incoming/ for files whose S3 notification never arrived.",
            Schedule = Schedule.Rate(Duration.Minutes(intervalMinutes)),
            Targets = [new LambdaTarget(function)],
        });

        // A failed or throttled sweep is not retried and a late one is dropped: the next sweep covers the same files,
        // so retries would only stack sweeps on top of each other.
        function.ConfigureAsyncInvoke(new EventInvokeConfigOptions
        {
            RetryAttempts = 0,
            MaxEventAge = Duration.Minutes(Math.Clamp(intervalMinutes, 1, MaxEventAgeMinutes)),
        });
    }

    public Rule Rule { get; }
}
