namespace Serverless.Functions.Aws.Tests.Support;

/// <summary>The iris sample model, copied into this project's output under models/.</summary>
internal static class TestModels
{
    public static string Repository => Path.Combine(AppContext.BaseDirectory, "models");

    public static string IrisOnnx => Path.Combine(Repository, "iris", "1", "model.onnx");

    public static string IrisManifest => Path.Combine(Repository, "iris", "model.json");

    /// <summary>The first flower of expected.json: 5.1, 3.5, 1.4, 0.2 is a setosa.</summary>
    public const string IrisInferBody = """{"inputs":[{"name":"Features","shape":[1,4],"datatype":"FP32","data":[5.1,3.5,1.4,0.2]}]}""";

    public const string IrisCsvHeader = "sepal_length,sepal_width,petal_length,petal_width";

    public static string IrisCsv => IrisCsvHeader + "\n5.1,3.5,1.4,0.2\n6.7,3.1,4.4,1.4\n6.3,3.3,6,2.5\n";

    public static readonly string[] IrisLabels = ["setosa", "versicolor", "virginica"];
}
