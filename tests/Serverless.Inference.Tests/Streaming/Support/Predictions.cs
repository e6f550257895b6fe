using System.Text.Json;
using Serverless.Inference.Tests.Batch.Support;

namespace Serverless.Inference.Tests.Streaming.Support;

/// <summary>Reads what a stream processor wrote into a drop folder.</summary>
public static class Predictions
{
    /// <summary>The keys of the predictions objects of a model, sorted.</summary>
    public static List<string> Objects(TempDropFolder folder, string model)
    {
        var root = Path.Combine(folder.Root, "predictions", model);
        return !Directory.Exists(root)
            ? []
            : [.. Directory.EnumerateFiles(root, "*", SearchOption.AllDirectories)
                .Select(path => Path.GetRelativePath(folder.Root, path).Replace('\\', '/'))
                .Order(StringComparer.Ordinal)];
    }

    /// <summary>Every predictions line of a model, object by object in key order.</summary>
    public static List<JsonElement> Lines(TempDropFolder folder, string model) =>
        [.. Objects(folder, model).SelectMany(key => File.ReadAllLines(folder.PathOf(key)))
            .Select(line => JsonDocument.Parse(line).RootElement)];
}
