using System.Collections.Concurrent;
using System.IO.Compression;
using System.Net;
using System.Net.Sockets;
using System.Security.Cryptography;
using System.Security.Cryptography.X509Certificates;
using System.Text;
using System.Text.Json;
using Azure.Core;
using Azure.Core.Pipeline;
using Azure.Identity;
using Microsoft.AspNetCore.Builder;
using Microsoft.AspNetCore.Hosting;
using Microsoft.AspNetCore.Http;
using Microsoft.Extensions.Configuration;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Hosting;
using Microsoft.Extensions.Logging;
using OpenTelemetry.Metrics;
using OpenTelemetry.Trace;
using Serverless.Functions.Azure;
using Serverless.Functions.Azure.Hosting;
using Serverless.Inference.Hosting;
using Serverless.Inference.Protocol;
using Serverless.Inference.Repository;

namespace Serverless.Functions.Azure.Tests.Hosting;

/// <summary>The worker's export to Application Insights, sent to an ingestion endpoint on 127.0.0.1.</summary>
public sealed class AzureTelemetryTests
{
    static AzureTelemetryTests()
    {
        // The exporter's own usage telemetry (Statsbeat) would call Microsoft's endpoints and the VM metadata address;
        // it starts only for Azure's ingestion endpoints, and this switch keeps it off whatever the endpoint.
        Environment.SetEnvironmentVariable("APPLICATIONINSIGHTS_STATSBEAT_DISABLED", "true");
    }

    private static readonly TimeSpan Patience = TimeSpan.FromSeconds(60);

    [Fact]
    public async Task ConnectionString_OurMetricsAndSpansReachTheIngestionEndpointWithAnEntraToken()
    {
        await using var ingestion = await IngestionEndpoint.StartAsync();
        var builder = Host.CreateEmptyApplicationBuilder(new HostApplicationBuilderSettings());
        builder.Configuration.AddInMemoryCollection(new Dictionary<string, string?>
        {
            [AzureTelemetry.ConnectionStringSetting] = $"InstrumentationKey=6f2b8a8e-1f0c-4c55-9a39-6a3c1e0f2d11;IngestionEndpoint={ingestion.Address}",
            [AzureContract.WarmupModelsSetting.Replace("__", ":", StringComparison.Ordinal)] = "iris",
        });

        // A started host, in Program.cs's order: the exporter attaches its trace exporter from a hosted service (a bare
        // service provider exports metrics but never spans), and telemetry's hosted services start before warm-up's.
        builder.Services
            .AddLogging()
            .AddAzureMonitorTelemetry(builder.Configuration, new FixedToken("entra-token-for-the-test"), options =>
            {
                // Live Metrics would call Microsoft's own endpoint from this machine (Statsbeat is off: see the class).
                options.EnableLiveMetrics = false;
                options.DisableOfflineStorage = true;
                // Every span, for a test that counts them: the default rate-limited sampler (5 a second) keeps a lone span
                // with a chance that grows with the time since the last one, so one just after start-up is mostly dropped.
                options.TracesPerSecond = null;
                options.SamplingRatio = 1F;
                // Azure.Core sends a bearer token over TLS only: the endpoint is HTTPS with its own certificate, trusted here alone.
                options.Transport = new HttpClientTransport(ingestion.TrustingHandler());
            });
        builder.Services
            .AddSingleton(_ => new ModelHost(new LocalFolderModelStore(Path.Combine(AppContext.BaseDirectory, "models")), new ModelHostOptions { CacheDirectory = Directory.CreateTempSubdirectory("telemetry-cache-").FullName }))
            .AddSingleton(InferenceSettings.From(builder.Configuration))
            .AddModelWarmup();
        using var app = builder.Build();
        await app.StartAsync();
        await app.Services.GetRequiredService<ModelWarmup>().Completion.WaitAsync(Patience);

        // A real request through the core, as the HTTP function sends it.
        var handler = new OpenInferenceHandler(app.Services.GetRequiredService<ModelHost>(), new RequestLimits { MaxRequestBytes = 64 * 1024 });
        var body = Encoding.UTF8.GetBytes(Iris.InferBody());
        using (var response = await handler.HandleAsync(new OipHttpRequest("POST", "/v2/models/iris/infer", name => name == "Content-Type" ? "application/json" : null, new MemoryStream(body), body.Length), CancellationToken.None))
        {
            Assert.Equal(200, response.StatusCode);
        }

        var meters = app.Services.GetRequiredService<MeterProvider>();
        var tracer = app.Services.GetRequiredService<TracerProvider>();
        using var patience = new CancellationTokenSource(Patience);
        while (!(ingestion.Has("Metric", "inference.requests") && ingestion.Has("RemoteDependency", "infer") && ingestion.Has("RemoteDependency", "model.load")))
        {
            tracer.ForceFlush();
            meters.ForceFlush();
            await Task.Delay(200, patience.Token);
        }

        Assert.True(ingestion.Has("Metric", "inference.request.duration"));
        Assert.True(ingestion.Has("Metric", "dotnet.process.memory.working_set"));
        var infer = Assert.Single(ingestion.Items, item => item.Name == "infer");
        Assert.Equal("iris", infer.Properties["model.name"]);
        Assert.Equal("1", infer.Properties["model.version"]);
        // Warm-up's load, started by its hosted service: its span is exported too.
        var load = Assert.Single(ingestion.Items, item => item.Name == "model.load");
        Assert.Equal("iris", load.Properties["model.name"]);
        Assert.All(ingestion.Authorizations, value => Assert.Equal("Bearer entra-token-for-the-test", value));
        Assert.All(ingestion.InstrumentationKeys, key => Assert.Equal("6f2b8a8e-1f0c-4c55-9a39-6a3c1e0f2d11", key));
        await app.StopAsync();
    }

    [Fact]
    public void NoConnectionString_NothingRegistered()
    {
        var services = new ServiceCollection().AddAzureMonitorTelemetry(new ConfigurationBuilder().Build());

        Assert.Empty(services);
    }

    [Theory]
    [InlineData("Authorization=AAD;ClientId=0b8f1c4e-5a7d-4f0e-9d55-2b1e0c3a4f66", true)]
    [InlineData("ClientId=0b8f1c4e-5a7d-4f0e-9d55-2b1e0c3a4f66;Authorization=aad", true)]
    [InlineData("Authorization=AAD", true)]
    [InlineData("ClientId=0b8f1c4e-5a7d-4f0e-9d55-2b1e0c3a4f66", false)]
    [InlineData("Authorization=Key", false)]
    [InlineData("", false)]
    [InlineData(null, false)]
    public void CredentialFrom_ManagedIdentityOnlyForAad(string? authentication, bool managedIdentity)
    {
        var credential = AzureTelemetry.CredentialFrom(authentication);

        Assert.Equal(managedIdentity, credential is ManagedIdentityCredential);
    }

    /// <summary>Entra ID cannot be reached here: a token the ingestion endpoint can recognise stands in for one.</summary>
    private sealed class FixedToken(string token) : TokenCredential
    {
        public override AccessToken GetToken(TokenRequestContext requestContext, CancellationToken cancellationToken) => new(token, DateTimeOffset.UtcNow.AddHours(1));

        public override ValueTask<AccessToken> GetTokenAsync(TokenRequestContext requestContext, CancellationToken cancellationToken) => new(GetToken(requestContext, cancellationToken));
    }

    /// <summary>One telemetry item as the ingestion endpoint received it: its type ("Metric", "RemoteDependency", "Request"...), name and custom properties.</summary>
    private sealed record TelemetryItem(string Type, string Name, IReadOnlyDictionary<string, string> Properties);

    /// <summary>
    /// Application Insights' ingestion (Breeze) track route on 127.0.0.1: POST /v2.1/track with a gzip body of one
    /// JSON telemetry item a line; answers as Breeze does ({itemsReceived, itemsAccepted, errors}) and keeps what arrived.
    /// </summary>
    private sealed class IngestionEndpoint : IAsyncDisposable
    {
        private readonly WebApplication _app;

        private readonly X509Certificate2 _certificate;

        private IngestionEndpoint(WebApplication app, int port, X509Certificate2 certificate)
        {
            _app = app;
            _certificate = certificate;
            Address = $"https://127.0.0.1:{port}/";
        }

        public string Address { get; }

        /// <summary>What arrived: metrics by metric name, dependencies and requests by span name, with their custom properties.</summary>
        public ConcurrentBag<TelemetryItem> Items { get; } = [];

        public ConcurrentBag<string> Authorizations { get; } = [];

        public ConcurrentBag<string> InstrumentationKeys { get; } = [];

        public static async Task<IngestionEndpoint> StartAsync()
        {
            int port;
            using (var probe = new TcpListener(IPAddress.Loopback, 0))
            {
                probe.Start();
                port = ((IPEndPoint)probe.LocalEndpoint).Port;
            }

            var certificate = SelfSigned();
            var builder = WebApplication.CreateSlimBuilder();
            builder.Logging.ClearProviders();
            builder.WebHost.UseKestrelHttpsConfiguration();
            builder.WebHost.ConfigureKestrel(kestrel => kestrel.Listen(IPAddress.Loopback, port, listen => listen.UseHttps(certificate)));
            var app = builder.Build();
            var endpoint = new IngestionEndpoint(app, port, certificate);
            app.MapPost("/v2.1/track", endpoint.TrackAsync);
            await app.StartAsync();
            return endpoint;
        }

        /// <summary>A client handler that trusts this endpoint's certificate and no other.</summary>
        public HttpClientHandler TrustingHandler() => new()
        {
            ServerCertificateCustomValidationCallback = (_, presented, _, _) => presented is not null && presented.Thumbprint == _certificate.Thumbprint,
        };

        public bool Has(string type, string name) => Items.Any(item => item.Type == type && item.Name == name);

        public async ValueTask DisposeAsync()
        {
            await _app.StopAsync();
            await _app.DisposeAsync();
            _certificate.Dispose();
        }

        private static X509Certificate2 SelfSigned()
        {
            using var key = RSA.Create(2048);
            var request = new CertificateRequest("CN=127.0.0.1", key, HashAlgorithmName.SHA256, RSASignaturePadding.Pkcs1);
            var names = new SubjectAlternativeNameBuilder();
            names.AddIpAddress(IPAddress.Loopback);
            request.CertificateExtensions.Add(names.Build());
            using var created = request.CreateSelfSigned(DateTimeOffset.UtcNow.AddMinutes(-5), DateTimeOffset.UtcNow.AddHours(1));
            // Kestrel needs the private key in a form the platform's TLS can use: a PKCS#12 round trip gives it one.
            return X509CertificateLoader.LoadPkcs12(created.Export(X509ContentType.Pkcs12), null);
        }

        private async Task TrackAsync(HttpContext context)
        {
            Authorizations.Add(context.Request.Headers.Authorization.ToString());
            Stream body = context.Request.Headers.ContentEncoding == "gzip" ? new GZipStream(context.Request.Body, CompressionMode.Decompress) : context.Request.Body;
            using var reader = new StreamReader(body);
            var received = 0;
            while (await reader.ReadLineAsync() is { } line)
            {
                if (line.Length == 0)
                {
                    continue;
                }

                received++;
                var item = JsonDocument.Parse(line).RootElement;
                InstrumentationKeys.Add(item.GetProperty("iKey").GetString()!);
                var data = item.GetProperty("data");
                var type = data.GetProperty("baseType").GetString()!.Replace("Data", string.Empty, StringComparison.Ordinal);
                var baseData = data.GetProperty("baseData");
                var properties = baseData.TryGetProperty("properties", out var custom)
                    ? custom.EnumerateObject().ToDictionary(property => property.Name, property => property.Value.ToString())
                    : [];
                if (baseData.TryGetProperty("metrics", out var metrics))
                {
                    foreach (var metric in metrics.EnumerateArray())
                    {
                        Items.Add(new TelemetryItem(type, metric.GetProperty("name").GetString()!, properties));
                    }
                }
                else if (baseData.TryGetProperty("name", out var name))
                {
                    Items.Add(new TelemetryItem(type, name.GetString()!, properties));
                }
            }

            await context.Response.WriteAsJsonAsync(new Dictionary<string, object> { ["itemsReceived"] = received, ["itemsAccepted"] = received, ["errors"] = Array.Empty<object>() });
        }
    }
}
