using System.Diagnostics;
using System.Reflection;
using Grpc.Core;
using Microsoft.Extensions.Logging;
using Serverless.Inference.Grpc.V2;
using Serverless.Inference.Hosting;
using Serverless.Inference.Protocol;
using Serverless.Inference.Repository;
using Serverless.Inference.Serving;
using Serverless.Inference.Telemetry;
using static Serverless.Inference.Grpc.V2.ModelMetadataResponse.Types;

namespace Serverless.Inference.Grpc;

/// <summary>
/// <c>inference.GRPCInferenceService</c> over the same model host, inference path and readiness check as the REST
/// handler: only the encoding differs, so a request gets the same answer, or the same refusal, on either transport.
/// </summary>
internal sealed class GrpcInferenceService(ModelHost host, GrpcErrors errors, TimeProvider time) : GRPCInferenceService.GRPCInferenceServiceBase
{
    private static readonly string ServerVersion =
        typeof(OpenInferenceHandler).Assembly.GetCustomAttribute<AssemblyInformationalVersionAttribute>()?.InformationalVersion.Split('+')[0] ?? "0.0.0";

    private readonly InferenceRunner _runner = new(host);
    private readonly RepositoryReadiness _readiness = new(host.Store, time);

    public override Task<ServerLiveResponse> ServerLive(ServerLiveRequest request, ServerCallContext context) =>
        Task.FromResult(new ServerLiveResponse { Live = true });

    public override Task<ServerReadyResponse> ServerReady(ServerReadyRequest request, ServerCallContext context) =>
        errors.AnswerAsync(context, async cancellationToken =>
        {
            var problem = await _readiness.CheckAsync(cancellationToken).ConfigureAwait(false);
            if (problem is not null)
            {
                // Not ready is an answer, not a failure; the reason goes to the log with an id, as REST's body carries it.
                errors.Describe(problem, context);
            }

            return new ServerReadyResponse { Ready = problem is null };
        });

    public override Task<ServerMetadataResponse> ServerMetadata(ServerMetadataRequest request, ServerCallContext context) =>
        Task.FromResult(new ServerMetadataResponse { Name = OpenInferenceHandler.ServerName, Version = ServerVersion });

    public override Task<ModelReadyResponse> ModelReady(ModelReadyRequest request, ServerCallContext context) =>
        errors.AnswerAsync(context, async cancellationToken =>
        {
            var version = CheckNames(request.Name, request.Version);
            try
            {
                using var lease = await host.AcquireAsync(request.Name, version, cancellationToken).ConfigureAwait(false);
                return new ModelReadyResponse { Ready = true };
            }
            catch (InferenceException e) when (e.Kind == InferenceErrorKind.Unavailable)
            {
                errors.Describe(e, context);
                return new ModelReadyResponse { Ready = false };
            }
        });

    public override Task<ModelMetadataResponse> ModelMetadata(ModelMetadataRequest request, ServerCallContext context) =>
        errors.AnswerAsync(context, async cancellationToken =>
        {
            var version = CheckNames(request.Name, request.Version);
            using var lease = await host.AcquireAsync(request.Name, version, cancellationToken).ConfigureAwait(false);
            var versions = await host.ListVersionsAsync(lease.Name, cancellationToken).ConfigureAwait(false);
            var response = new ModelMetadataResponse { Name = lease.Name, Platform = lease.Manifest.Platform };
            response.Versions.Add(versions);
            response.Inputs.Add(lease.Endpoint.Signature.Inputs.Select(Metadata));
            response.Outputs.Add(lease.Endpoint.Signature.Outputs.Select(Metadata));
            return response;
        });

    public override Task<ModelInferResponse> ModelInfer(ModelInferRequest request, ServerCallContext context) =>
        errors.AnswerAsync(context, async cancellationToken =>
        {
            var timeline = new RequestTimeline();
            using var activity = InferenceTelemetry.Source.StartActivity("infer");
            activity?.SetTag("model.name", request.ModelName);
            activity?.SetTag("rpc.system", "grpc");
            var status = StatusCode.Internal;
            string? served = null;
            try
            {
                var version = CheckNames(request.ModelName, request.ModelVersion);
                using var inferRequest = GrpcRequestReader.Read(request);
                timeline.MarkParsed();
                TimeSpan? timeLeft = context.Deadline == DateTime.MaxValue ? null : context.Deadline - DateTime.UtcNow;
                using var result = await _runner.RunAsync(request.ModelName, version, inferRequest, v => served = v, cancellationToken, timeLeft, timeline).ConfigureAwait(false);
                var response = GrpcResponseWriter.Write(inferRequest, result);
                status = StatusCode.OK;
                return response;
            }
            catch (InferenceException e)
            {
                status = GrpcErrors.StatusOf(e.Kind, context);
                throw;
            }
            catch (OperationCanceledException) when (cancellationToken.IsCancellationRequested)
            {
                status = GrpcErrors.StatusOf(InferenceErrorKind.Cancelled, context);
                throw;
            }
            finally
            {
                activity?.SetTag("model.version", served);
                activity?.SetTag("rpc.grpc.status_code", (int)status);
                TagList tags = new() { { "model.name", request.ModelName }, { "model.version", served }, { "rpc.grpc.status_code", (int)status } };
                InferenceTelemetry.Requests.Add(1, tags);
                var answered = Stopwatch.GetTimestamp();
                InferenceTelemetry.RequestDuration.Record(Stopwatch.GetElapsedTime(timeline.Received, answered).TotalSeconds, tags);
                if (served is not null)
                {
                    host.Statistics.For(request.ModelName, served).RecordRequest(timeline, status == StatusCode.OK, answered);
                }

                if (status == StatusCode.OK)
                {
                    InferenceTelemetry.RequestCompleted("infer");
                }
            }
        });

    /// <returns>The version asked for, or null for the model's default.</returns>
    private static string? CheckNames(string model, string version)
    {
        if (!ModelNames.IsValid(model))
        {
            throw Invalid("model name", model);
        }

        if (version.Length > 0 && !ModelNames.IsValid(version))
        {
            throw Invalid("model version", version);
        }

        return version.Length > 0 ? version : null;

        static InferenceException Invalid(string what, string value) =>
            InferenceException.BadRequest($"invalid {what} '{ModelNames.Printable(value)}': it must match {ModelNames.Rule} and not contain '..'");
    }

    private static TensorMetadata Metadata(Runtime.TensorSpec tensor)
    {
        var metadata = new TensorMetadata { Name = tensor.Name, Datatype = Runtime.TensorDataTypes.ToProtocolName(tensor.DataType) };
        metadata.Shape.Add(tensor.Shape);
        return metadata;
    }
}
