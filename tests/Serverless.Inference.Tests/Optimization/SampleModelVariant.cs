using Serverless.Inference.Optimization;
using Serverless.Inference.Optimization.Onnx;
using Serverless.Inference.Pipelines;
using Serverless.Inference.Repository;
using Serverless.Inference.Runtime;
using Serverless.Inference.Tests.Support;

namespace Serverless.Inference.Tests.Optimization;

/// <summary>
/// A sample model loaded as the hosts load it (OnnxModelFactory, then its pipeline from model.json), either as
/// shipped or rewritten by an optimization method into a temp file first.
/// </summary>
internal sealed class SampleModelVariant : IDisposable
{
    private readonly OnnxModel _model;
    private readonly string? _temporary;

    private SampleModelVariant(OnnxModel model, IInferenceModel endpoint, string? temporary, RewriteResult? rewrite)
    {
        _model = model;
        Endpoint = endpoint;
        _temporary = temporary;
        Rewrite = rewrite;
    }

    /// <summary>The pipeline when the manifest has one, else the bare model.</summary>
    public IInferenceModel Endpoint { get; }

    public OnnxModel Model => _model;

    /// <summary>The rewrite that made this variant, or null for the sample as shipped.</summary>
    public RewriteResult? Rewrite { get; }

    public static SampleModelVariant Load(string name, OptimizationMethod? method = null)
    {
        var folder = Path.Combine(TempModelRepository.SampleModels, name);
        var version = Path.Combine(folder, "1");
        var manifest = ModelManifest.Parse(File.ReadAllBytes(Path.Combine(folder, "model.json")), name);
        var path = Path.Combine(version, "model.onnx");
        string? temporary = null;
        RewriteResult? rewrite = null;
        if (method is { } chosen)
        {
            rewrite = GraphRewrites.For(chosen).Rewrite(
                new RewriteRequest(OnnxModelFile.Load(path), version, manifest, null, RewriteOptions.Default), CancellationToken.None);
            temporary = Path.Combine(Path.GetTempPath(), $"{name}-{chosen}-{Guid.NewGuid():N}.onnx");
            OnnxModelFile.Save(rewrite.Model, temporary);
            path = temporary;
        }

        var model = OnnxModelFactory.Create(path, manifest, intraOpThreads: 2, optimizedGraphPath: null);
        try
        {
            var steps = manifest.Pipeline is { } pipeline ? pipeline.Preprocess.Concat(pipeline.Postprocess) : [];
            var assets = steps.SelectMany(step => step.Assets).Distinct(StringComparer.Ordinal)
                .ToDictionary(asset => asset, asset => Path.Combine(version, asset), StringComparer.Ordinal);
            IInferenceModel endpoint = manifest.Pipeline is { } declared ? PipelineModel.Create(model, declared, assets, name) : model;
            return new SampleModelVariant(model, endpoint, temporary, rewrite);
        }
        catch
        {
            model.Dispose();
            throw;
        }
    }

    /// <summary>Runs the endpoint and returns one output's values.</summary>
    public float[] RunFloats(InputTensor input, string output)
    {
        using var outputs = Endpoint.Run([input], [output], CancellationToken.None);
        return outputs.Tensors.Single().AsSpan<float>().ToArray();
    }

    public long FileBytes => new FileInfo(_temporary ?? throw new InvalidOperationException("the shipped sample has no rewritten file")).Length;

    public void Dispose()
    {
        _model.Dispose();
        if (_temporary is not null)
        {
            File.Delete(_temporary);
        }
    }
}
