namespace Serverless.Functions.Azure.Streaming;

/// <summary>What the body of one webhook request turned out to be.</summary>
internal abstract record EventDelivery
{
    private EventDelivery()
    {
    }

    /// <summary>Events to score, in the order they are to be scored.</summary>
    public sealed record Events(IReadOnlyList<DeliveredEvent> Items) : EventDelivery;

    /// <summary>An Event Grid schema subscription's validation: answered with <c>{"validationResponse": code}</c>.</summary>
    public sealed record SubscriptionValidation(string Code) : EventDelivery;

    /// <summary>Not a delivery this webhook can take, whatever the retries: a 400 or 413, which Event Grid dead-letters at once.</summary>
    public sealed record Refused(int Status, string Error) : EventDelivery;
}
