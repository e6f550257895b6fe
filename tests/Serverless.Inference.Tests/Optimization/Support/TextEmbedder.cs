using System.Text;
using Serverless.Inference.Pipelines;
using Serverless.Inference.Repository;
using Serverless.Inference.Runtime;

namespace Serverless.Inference.Tests.Optimization.Support;

/// <summary>
/// A text model file behind its model.json pipeline, created as the hosts' model loader creates it
/// (<see cref="OnnxModelFactory"/> then <see cref="PipelineModel"/>): texts in, one embedding per text out.
/// Shared with the optimize-minilm benchmark.
/// </summary>
internal sealed class TextEmbedder : IDisposable
{
    private readonly OnnxModel _model;
    private readonly PipelineModel _endpoint;
    private readonly string _input;

    public TextEmbedder(string modelPath, ModelManifest manifest, string assetFolder)
    {
        var pipeline = manifest.Pipeline ?? throw new ArgumentException("the manifest has no pipeline", nameof(manifest));
        _model = OnnxModelFactory.Create(modelPath, manifest, manifest.IntraOpThreads, optimizedGraphPath: null);
        try
        {
            var assets = Directory.GetFiles(assetFolder).ToDictionary(path => Path.GetFileName(path), StringComparer.Ordinal);
            _endpoint = PipelineModel.Create(_model, pipeline, assets, "model.json");
            _input = _endpoint.Signature.Inputs.Single().Name;
        }
        catch
        {
            _model.Dispose();
            throw;
        }
    }

    public float[][] Embed(IReadOnlyList<string> texts)
    {
        using var input = InputTensor.CreateBytes(_input, [texts.Count], [.. texts.Select(Encoding.UTF8.GetBytes)]);
        using var outputs = _endpoint.Run([input], null, CancellationToken.None);
        var values = outputs.Tensors.Single().AsSpan<float>();
        var width = values.Length / texts.Count;
        var vectors = new float[texts.Count][];
        for (var row = 0; row < texts.Count; row++)
        {
            vectors[row] = values.Slice(row * width, width).ToArray();
        }

        return vectors;
    }

    /// <summary>Cosine similarity, in double.</summary>
    public static double Cosine(float[] a, float[] b)
    {
        double dot = 0, normA = 0, normB = 0;
        for (var i = 0; i < a.Length; i++)
        {
            dot += (double)a[i] * b[i];
            normA += (double)a[i] * a[i];
            normB += (double)b[i] * b[i];
        }

        return dot / Math.Sqrt(normA * normB);
    }

    public void Dispose() => _model.Dispose();
}
