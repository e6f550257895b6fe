using Microsoft.Azure.Functions.Worker.Builder;
using Microsoft.Extensions.Hosting;
using Serverless.Functions.Azure.Hosting;

var builder = FunctionsApplication.CreateBuilder(args);
builder.ConfigureFunctionsWebApplication();

// Telemetry first: hosted services start in the order they were added, and the tracer provider and its exporter are
// set up by two of them, so warm-up's model loads (started by its own hosted service) never race them.
builder.Services
    .AddAzureMonitorTelemetry(builder.Configuration)
    .AddInferenceStorage()
    .AddBlobInference(builder.Configuration)
    .AddBlobBatchScoring()
    .AddEventGridStreaming(builder.Configuration)
    .AddModelWarmup();

builder.Build().Run();
