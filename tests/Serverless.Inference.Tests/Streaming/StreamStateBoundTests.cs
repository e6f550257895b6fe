using Serverless.Inference.Streaming;

namespace Serverless.Inference.Tests.Streaming;

/// <summary>The in-memory state a local stream keeps: bounded in keys, forgetting the least recently seen.</summary>
public sealed class StreamStateBoundTests
{
    [Fact]
    public void NewKeyPastTheBound_ForgetsTheLeastRecentlySeenKeyOnly()
    {
        var state = new StreamState(maxKeys: 3);
        var a = state.For("a");
        state.For("b");
        state.For("c");
        Assert.Same(a, state.For("a"));

        state.For("d");

        Assert.Equal(3, state.KeyCount);
        Assert.Equal(["a", "c", "d"], state.Keys.Select(k => k.Key).Order(StringComparer.Ordinal));
        Assert.Same(a, state.For("a"));
        Assert.NotNull(state.For("b"));
        Assert.DoesNotContain("c", state.Keys.Select(k => k.Key));
    }

    [Fact]
    public void SetOfAKnownKey_ReplacesItWithoutEvictingAnother()
    {
        var state = new StreamState(maxKeys: 2);
        state.For("a");
        state.For("b");
        var replacement = new StreamKeyState();

        state.Set("a", replacement);

        Assert.Equal(2, state.KeyCount);
        Assert.Same(replacement, state.For("a"));
        Assert.Contains("b", state.Keys.Select(k => k.Key));
    }

    [Fact]
    public void ABoundBelowOne_IsRefused() =>
        Assert.Throws<ArgumentOutOfRangeException>(() => new StreamState(maxKeys: 0));
}
