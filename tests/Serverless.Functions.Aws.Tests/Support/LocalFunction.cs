using Microsoft.Extensions.DependencyInjection;
using Serverless.Functions.Aws.Events;
using Serverless.Functions.Aws.Runtime;

namespace Serverless.Functions.Aws.Tests.Support;

/// <summary>The function's services in process, over the iris model in a local repository.</summary>
public sealed class LocalFunction : IDisposable
{
    private readonly ServiceProvider _services;

    public LocalFunction()
    {
        var settings = FunctionSettings.From(name => name == FunctionSettings.ModelDirectoryVariable ? TestModels.Repository : null);
        _services = new ServiceCollection().AddLogging().AddAwsFunction(settings).BuildServiceProvider();
        Dispatcher = _services.GetRequiredService<EventDispatcher>();
        Host = _services.GetRequiredService<Serverless.Inference.Hosting.ModelHost>();
    }

    internal Serverless.Inference.Hosting.ModelHost Host { get; }

    internal EventDispatcher Dispatcher { get; }

    /// <summary>Hands one event to the dispatcher and parses the response document.</summary>
    public async Task<JsonElement> InvokeAsync(string eventJson, CancellationToken cancellationToken = default)
    {
        var invocation = new LambdaInvocation("req", DateTimeOffset.UtcNow.AddMinutes(1), null, null, null, null, Encoding.UTF8.GetBytes(eventJson));
        var response = await Dispatcher.HandleAsync(invocation, cancellationToken);
        return JsonDocument.Parse(response).RootElement;
    }

    public void Dispose() => _services.Dispose();
}
