using Serverless.Inference.Repository;

namespace Serverless.Inference.Protocol;

/// <summary>
/// <c>/v2/health/ready</c> from memory: the store is asked at most once per <see cref="MaxAge"/>, by one caller while the
/// others wait for the same answer. The route is anonymous on some hosts, so the number of storage calls a stranger can
/// cause must not grow with the number of calls they make.
/// </summary>
internal sealed class RepositoryReadiness(IModelStore store, TimeProvider time)
{
    public static readonly TimeSpan MaxAge = TimeSpan.FromSeconds(5);

    private readonly Lock _gate = new();
    private (InferenceException? Problem, DateTimeOffset CheckedAt)? _last;
    private Task<InferenceException?>? _checking;

    /// <returns>Null when ready; otherwise why not.</returns>
    public Task<InferenceException?> CheckAsync(CancellationToken cancellationToken)
    {
        lock (_gate)
        {
            if (_last is { } last && time.GetUtcNow() - last.CheckedAt < MaxAge)
            {
                return Task.FromResult(last.Problem);
            }

            _checking ??= AskStoreAsync();
            return _checking.WaitAsync(cancellationToken);
        }
    }

    private async Task<InferenceException?> AskStoreAsync()
    {
        // Shared by every waiting caller, so no single caller's cancellation may stop it.
        await Task.Yield();
        InferenceException? problem;
        try
        {
            var models = await store.ListModelsAsync(CancellationToken.None).ConfigureAwait(false);
            problem = models.Count > 0
                ? null
                : new InferenceException(InferenceErrorKind.Unavailable, "the model repository holds no models") { Detail = store.Description };
        }
        catch (InferenceException e)
        {
            problem = e;
        }
#pragma warning disable CA1031 // Whatever the store throws, the answer is "not ready", and the next check asks again.
        catch (Exception e)
#pragma warning restore CA1031
        {
            problem = new InferenceException(InferenceErrorKind.Unavailable, "the model repository cannot be reached", e) { Detail = $"{store.Description}: {e.Message}" };
        }

        lock (_gate)
        {
            _last = (problem, time.GetUtcNow());
            _checking = null;
        }

        return problem;
    }
}
