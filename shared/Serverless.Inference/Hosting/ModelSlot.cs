namespace Serverless.Inference.Hosting;

/// <summary>The state of one model version in the host; guarded by <see cref="ModelLifecycle"/>'s lock.</summary>
internal sealed class ModelSlot
{
    /// <summary>The version requests are served by; the slot holds one reference to it.</summary>
    public LoadedModel? Current { get; set; }

    /// <summary>The shared first load, while nothing is loaded yet.</summary>
    public Task<LoadedModel>? Loading { get; set; }

    /// <summary>Whether a background check against the store is under way.</summary>
    public bool Refreshing { get; set; }

    /// <summary>When the next request should start a background check against the store.</summary>
    public DateTimeOffset RefreshAt { get; set; }

    public LoadFailure? Failure { get; set; }

    public long LastUsed { get; set; }
}
