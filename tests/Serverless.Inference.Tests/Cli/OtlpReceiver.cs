using System.Collections.Concurrent;
using System.Text;
using Google.Protobuf;
using Microsoft.AspNetCore.Builder;
using Microsoft.AspNetCore.Hosting;
using Microsoft.AspNetCore.Http;
using Microsoft.Extensions.Logging;

namespace Serverless.Inference.Tests.Cli;

/// <summary>
/// An OTLP/HTTP receiver (http/protobuf) on 127.0.0.1: POST /v1/metrics and /v1/traces answer 200 and keep the names
/// they carry, read from the protobuf along the OTLP schema (opentelemetry-proto, collector/*/v1):
/// Export*ServiceRequest.resource_* = 1 → Resource*.scope_* = 2 → Scope*.scope = 1 (InstrumentationScope.name = 1)
/// and Scope*.metrics/spans = 2 → Metric.name = 1, Span.name = 5. No collector runs here; this reads the same bytes.
/// </summary>
internal sealed class OtlpReceiver : IAsyncDisposable
{
    private readonly WebApplication _app;

    private OtlpReceiver(WebApplication app, int port)
    {
        _app = app;
        Endpoint = $"http://127.0.0.1:{port}";
    }

    public string Endpoint { get; }

    /// <summary>(instrumentation scope, metric name) pairs received.</summary>
    public ConcurrentBag<(string Scope, string Name)> Metrics { get; } = [];

    /// <summary>(instrumentation scope, span name) pairs received.</summary>
    public ConcurrentBag<(string Scope, string Name)> Spans { get; } = [];

    public ConcurrentBag<string> ContentTypes { get; } = [];

    public static async Task<OtlpReceiver> StartAsync(int port)
    {
        var builder = WebApplication.CreateSlimBuilder();
        builder.Logging.ClearProviders();
        builder.WebHost.ConfigureKestrel(kestrel => kestrel.Listen(System.Net.IPAddress.Loopback, port));
        var app = builder.Build();
        var receiver = new OtlpReceiver(app, port);
        app.MapPost("/v1/metrics", (HttpContext context) => receiver.ReceiveAsync(context, receiver.Metrics, itemField: 1));
        app.MapPost("/v1/traces", (HttpContext context) => receiver.ReceiveAsync(context, receiver.Spans, itemField: 5));
        await app.StartAsync();
        return receiver;
    }

    public async ValueTask DisposeAsync()
    {
        await _app.StopAsync();
        await _app.DisposeAsync();
    }

    private async Task ReceiveAsync(HttpContext context, ConcurrentBag<(string, string)> names, int itemField)
    {
        ContentTypes.Add(context.Request.ContentType ?? string.Empty);
        using var body = new MemoryStream();
        await context.Request.Body.CopyToAsync(body);
        foreach (var resource in Fields(body.ToArray(), 1))
        {
            foreach (var scoped in Fields(resource, 2))
            {
                var scope = Fields(scoped, 1).Select(s => Text(s, 1)).FirstOrDefault() ?? string.Empty;
                foreach (var item in Fields(scoped, 2))
                {
                    names.Add((scope, Text(item, itemField) ?? string.Empty));
                }
            }
        }

        context.Response.StatusCode = 200;
        context.Response.ContentType = "application/x-protobuf";
    }

    private static string? Text(byte[] message, int field) => Fields(message, field).Select(bytes => Encoding.UTF8.GetString(bytes)).FirstOrDefault();

    /// <summary>The length-delimited values of <paramref name="field"/>; every other field is skipped by its wire type.</summary>
    private static List<byte[]> Fields(byte[] message, int field)
    {
        var found = new List<byte[]>();
        var input = new CodedInputStream(message);
        uint tag;
        while ((tag = input.ReadTag()) != 0)
        {
            if (WireFormat.GetTagFieldNumber(tag) == field && WireFormat.GetTagWireType(tag) == WireFormat.WireType.LengthDelimited)
            {
                found.Add(input.ReadBytes().ToByteArray());
            }
            else
            {
                input.SkipLastField();
            }
        }

        return found;
    }
}
