using Microsoft.Azure.Functions.Worker.Builder;
using Microsoft.Extensions.Hosting;
using Serverless.Functions.Azure.Hosting;

var builder = FunctionsApplication.CreateBuilder(args);
builder.ConfigureFunctionsWebApplication();

builder.Services
    .AddInferenceStorage()
    .AddBlobInference(builder.Configuration)
    .AddBlobBatchScoring()
    .AddEventGridStreaming(builder.Configuration)
    .AddModelWarmup()
    .AddAzureMonitorTelemetry(builder.Configuration);

builder.Build().Run();
