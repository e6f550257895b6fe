using Microsoft.Azure.Functions.Worker.Builder;
using Microsoft.Extensions.Hosting;
using Serverless.Functions.Azure.Hosting;

var builder = FunctionsApplication.CreateBuilder(args);
builder.ConfigureFunctionsWebApplication();

// Telemetry first: hosted services start in the order they were added, and the trace exporter is attached by one of
// them, so it must be in place before warm-up's hosted service starts loading models (their spans would be lost).
builder.Services
    .AddAzureMonitorTelemetry(builder.Configuration)
    .AddInferenceStorage()
    .AddBlobInference(builder.Configuration)
    .AddBlobBatchScoring()
    .AddEventGridStreaming(builder.Configuration)
    .AddModelWarmup();

builder.Build().Run();
