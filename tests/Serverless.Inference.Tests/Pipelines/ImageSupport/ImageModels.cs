using Serverless.Inference.Tests.Support;

namespace Serverless.Inference.Tests.Pipelines.ImageSupport;

/// <summary>
/// Image classification models with their pipelines, in a temp repository, behind one real local host per test
/// class: the sample <c>ppocr-cls</c>, and <see cref="Colours"/>, a tiny classifier whose answer can be worked
/// out by hand, with two badly packaged copies of it.
/// </summary>
public sealed class ImageModels : IAsyncLifetime
{
    /// <summary>The sample PP-OCR text-direction classifier: image to label "0" or "180".</summary>
    public const string PpOcrCls = "ppocr-cls";

    /// <summary>
    /// x float [N, 3, 4, 4] to scores [N, 3] = the mean of each channel (GlobalAveragePool, Flatten), with labels
    /// red, green, blue; the pipeline reads a 4 x 4 image scaled to 0..1, takes the softmax of the scores
    /// (probabilities), the top 2 of those (top_labels, top_scores) and the argmax label of the raw scores (label).
    /// </summary>
    public const string Colours = "colours";

    /// <summary><see cref="Colours"/> with a labels file of two lines for three declared classes: it never loads.</summary>
    public const string ShortLabels = "colours-short-labels";

    /// <summary>
    /// <see cref="Colours"/> with two labels, read only after the softmax step, whose width the model does not
    /// declare: it loads, and each request is refused.
    /// </summary>
    public const string ShortLabelsAfterSoftmax = "colours-short-labels-softmax";

    /// <summary>
    /// <see cref="Colours"/> with small pixel limits: 400 an image (20 x 20) and 1000 a request, so that its batch
    /// of 8 rows of 20 x 20 images is over the request's budget together and within it row by row.
    /// </summary>
    public const string SmallBudget = "colours-small-budget";

    private readonly TempModelRepository _repository = AddAll(new TempModelRepository());
    private OipTestServer? _server;

    public OipTestServer Server => _server ?? throw new InvalidOperationException("the server has not started");

    public OipClient Client => Server.Client;

    public string Repository => _repository.Root;

    /// <summary>Writes every model of this fixture into a repository.</summary>
    public static TempModelRepository AddAll(TempModelRepository repository)
    {
        repository.CopySample(PpOcrCls);
        AddColours(repository, Colours, "red\ngreen\nblue\n", labelsReadFrom: "scores");
        AddColours(repository, ShortLabels, "red\ngreen\n", labelsReadFrom: "scores");
        AddColours(repository, ShortLabelsAfterSoftmax, "red\ngreen\n", labelsReadFrom: "probabilities");
        AddColours(repository, SmallBudget, "red\ngreen\nblue\n", labelsReadFrom: "scores", limits: """, "max_pixels": 400, "max_pixels_per_request": 1000""");
        return repository;
    }

    /// <summary>The colour classifier's model: channel means of a 4 x 4 image.</summary>
    public static byte[] ColourModel() =>
        new OnnxModelBuilder("colours")
            .Input("x", OnnxElementType.Float, "N", 3, 4, 4)
            .Output("scores", OnnxElementType.Float, "N", 3)
            .Node("GlobalAveragePool", ["x"], ["pooled"])
            .Node("Flatten", ["pooled"], ["scores"], OnnxAttribute.Int("axis", 1))
            .ToBytes();

    /// <summary>Writes the colour classifier with its pipeline and labels file; the argmax step reads <paramref name="labelsReadFrom"/>.</summary>
    /// <param name="limits">More options of the image step, each after a comma.</param>
    public static void AddColours(TempModelRepository repository, string name, string labels, string labelsReadFrom, string limits = "")
    {
        repository.Add(name, ColourModel(), manifest: $$"""
            {
              "max_batch_size": 8,
              "pipeline": {
                "inputs": [{ "name": "image", "datatype": "BYTES", "shape": [-1] }],
                "preprocess": [
                  { "type": "image", "input": "image", "output": "x", "width": 4, "height": 4, "scale": 0.00392156862745098{{limits}} }
                ],
                "postprocess": [
                  { "type": "softmax", "input": "scores", "output": "probabilities" },
                  { "type": "top_k", "input": "probabilities", "k": 2, "labels": "labels.txt", "output_labels": "top_labels", "output_scores": "top_scores" },
                  { "type": "argmax_label", "input": "{{labelsReadFrom}}", "labels": "labels.txt", "output": "label" }
                ],
                "outputs": [
                  { "name": "label", "datatype": "BYTES", "shape": [-1] },
                  { "name": "top_labels", "datatype": "BYTES", "shape": [-1, 2] },
                  { "name": "top_scores", "datatype": "FP32", "shape": [-1, 2] }
                ]
              }
            }
            """);
        File.WriteAllText(Path.Combine(repository.Root, name, "1", "labels.txt"), labels);
    }

    public async Task InitializeAsync() => _server = await OipTestServer.StartAsync(_repository.Root);

    public async Task DisposeAsync()
    {
        if (_server is not null)
        {
            await _server.DisposeAsync();
        }

        _repository.Dispose();
    }
}
