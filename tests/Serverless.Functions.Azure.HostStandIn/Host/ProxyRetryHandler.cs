namespace Serverless.Functions.Azure.HostStandIn.Host;

/// <summary>
/// Retries a proxied request the worker's listener refused, as the host's proxy does: the worker answers init and
/// loads its functions on its gRPC stream before its ASP.NET Core listener is necessarily bound, so the first
/// request can find nothing listening yet. Up to 10 attempts, 50 ms apart at first, doubling to at most 250 ms.
/// </summary>
internal sealed class ProxyRetryHandler(HttpMessageHandler inner) : DelegatingHandler(inner)
{
    internal const int MaxAttempts = 10;
    private static readonly TimeSpan FirstDelay = TimeSpan.FromMilliseconds(50);
    private static readonly TimeSpan MaxDelay = TimeSpan.FromMilliseconds(250);

    protected override async Task<HttpResponseMessage> SendAsync(HttpRequestMessage request, CancellationToken cancellationToken)
    {
        var delay = FirstDelay;
        for (var attempt = 1; ; attempt++)
        {
            try
            {
                return await base.SendAsync(request, cancellationToken).ConfigureAwait(false);
            }
            catch (HttpRequestException) when (attempt < MaxAttempts && !cancellationToken.IsCancellationRequested)
            {
                await Task.Delay(delay, cancellationToken).ConfigureAwait(false);
                delay = delay * 2 < MaxDelay ? delay * 2 : MaxDelay;
            }
        }
    }
}
