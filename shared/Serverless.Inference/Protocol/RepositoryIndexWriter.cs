using System.Buffers;
using System.Text.Json;
using Serverless.Inference.Hosting;

namespace Serverless.Inference.Protocol;

/// <summary>
/// Triton's repository index (<c>POST /v2/repository/index</c>): one entry per model. As in Triton, a model that is not
/// loaded has its name alone; the others add the version (the default one), a state of READY, LOADING or UNAVAILABLE,
/// and a reason when there is one.
/// </summary>
internal static class RepositoryIndexWriter
{
    public static void Write(IBufferWriter<byte> body, IReadOnlyList<ModelStatus> models, bool readyOnly)
    {
        using var w = new Utf8JsonWriter(body, InferResponseWriter.WriterOptions);
        w.WriteStartArray();
        foreach (var model in models)
        {
            if (readyOnly && model.State != ModelState.Ready)
            {
                continue;
            }

            w.WriteStartObject();
            w.WriteString("name"u8, model.Name);
            if (model.State != ModelState.NotLoaded)
            {
                if (model.DefaultVersion is { } version)
                {
                    w.WriteString("version"u8, version);
                }

                w.WriteString("state"u8, model.State switch
                {
                    ModelState.Ready => "READY",
                    ModelState.Loading => "LOADING",
                    _ => "UNAVAILABLE",
                });
                var reason = model.Error ?? (model.State == ModelState.Failed ? "the last load failed; the server log has the details" : null);
                if (reason is not null)
                {
                    w.WriteString("reason"u8, reason);
                }
            }

            w.WriteEndObject();
        }

        w.WriteEndArray();
    }
}
