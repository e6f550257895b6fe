using System.Text.Json.Nodes;
using Serverless.Inference.Hosting;
using Serverless.Inference.Repository;
using Serverless.Inference.Tests.Batch.Support;
using Serverless.Inference.Tests.Support;

namespace Serverless.Inference.Tests.Streaming.Support;

/// <summary>The models the streaming tests score with, in a temp repository, and one <see cref="ModelHost"/> over them.</summary>
public sealed class StreamModels : IDisposable
{
    /// <summary>The sample iris classifier, no streaming section.</summary>
    public const string Iris = "iris";

    /// <summary>
    /// Iris with alert rules: <see cref="Virginica"/> fires when two records of a key in a row are labelled virginica
    /// (case 2's label); <see cref="Setosa"/> when the setosa score (index 0) is above 0.9.
    /// </summary>
    public const string IrisAlerts = "iris-alerts";

    public const string Virginica = "virginica-twice";

    public const string Setosa = "setosa-sure";

    /// <summary>The sample sentence embedder: one text input, so a record may be a line of text.</summary>
    public const string MiniLm = "minilm";

    /// <summary>Iris with runs of two records and a counting rule, so it keeps per-key state.</summary>
    public const string IrisRuns = "iris-runs";

    /// <summary><see cref="BatchModels.LookupModel"/>: an index outside [-3, 2] is refused when the model runs. max_batch_size 64.</summary>
    public const string Lookup = "lookup";

    /// <summary>Identity over float [N, 3, 2] with a window of 3: the model's output is the window it was given.</summary>
    public const string WindowStacked = "window-stacked";

    /// <summary>Identity over float [N, 6] with a window of 3 two-value readings, concatenated.</summary>
    public const string WindowFlat = "window-flat";

    public StreamModels()
    {
        Repository = new TempModelRepository().CopySample(Iris).CopySample(MiniLm);
        CopyWithStreaming(Iris, IrisAlerts, $$"""
            {"alerts": [
              {"name": "{{Virginica}}", "output": "PredictedLabel.output", "in": ["{{IrisExpected.Labels[2]}}"], "consecutive": 2},
              {"name": "{{Setosa}}", "output": "Score.output", "index": 0, "above": 0.9}
            ]}
            """);
        CopyWithStreaming(Iris, IrisRuns, $$"""
            {"max_records_per_run": 2, "alerts": [{"name": "{{Virginica}}", "output": "PredictedLabel.output", "in": ["{{IrisExpected.Labels[2]}}"], "consecutive": 2}]}
            """);
        Repository
            .Add(Lookup, BatchModels.LookupModel(), manifest: """{ "max_batch_size": 64 }""")
            .Add(WindowStacked, Identity("x", 3, 2), manifest: """{"max_batch_size": 16, "streaming": {"window": {"size": 3, "input": "x"}}}""")
            .Add(WindowFlat, Identity("x", 6), manifest: """{"max_batch_size": 16, "streaming": {"window": {"size": 3}, "max_records_per_run": 4}}""");
        Host = new ModelHost(new LocalFolderModelStore(Repository.Root), new ModelHostOptions { DefaultIntraOpThreads = 1 });
    }

    public TempModelRepository Repository { get; }

    public ModelHost Host { get; }

    /// <summary>A copy of a model under another name with <paramref name="streaming"/> as its manifest's streaming section.</summary>
    public StreamModels CopyWithStreaming(string sample, string name, string streaming)
    {
        var manifest = JsonNode.Parse(File.ReadAllText(Path.Combine(Repository.Root, sample, "model.json")))!.AsObject();
        manifest["streaming"] = JsonNode.Parse(streaming);
        Repository.Add(name, File.ReadAllBytes(Path.Combine(Repository.Root, sample, "1", "model.onnx")), manifest: manifest.ToJsonString());
        return this;
    }

    /// <summary><c>y = Identity(x)</c> over float [N, ...row].</summary>
    public static byte[] Identity(string input, params int[] row) =>
        new OnnxModelBuilder("identity")
            .Input(input, OnnxElementType.Float, [(OnnxDim)"N", .. row.Select(d => (OnnxDim)d)])
            .Output("y", OnnxElementType.Float, [(OnnxDim)"N", .. row.Select(d => (OnnxDim)d)])
            .Node("Identity", [input], ["y"])
            .ToBytes();

    public Task<ModelLease> AcquireAsync(string model) => Host.AcquireAsync(model, null, CancellationToken.None);

    public void Dispose()
    {
        Host.Dispose();
        Repository.Dispose();
    }
}
