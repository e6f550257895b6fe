using System.Collections.Concurrent;

namespace Serverless.Inference.Serving;

/// <summary>
/// The process's <see cref="ModelStatistics"/>, one per model version that was asked for since start. Keys are versions
/// the host resolved from its store, so the table grows with the repository, never with what requests name.
/// </summary>
internal sealed class InferenceStatistics(TimeProvider time)
{
    private readonly ConcurrentDictionary<(string Name, string Version), ModelStatistics> _models = new();

    public ModelStatistics For(string name, string version) =>
        _models.GetOrAdd((name, version), key => new ModelStatistics(key.Name, key.Version, time));

    /// <summary>The versions of <paramref name="name"/> (every model when null) with statistics, by name then version.</summary>
    public IReadOnlyList<ModelStatistics> Of(string? name, string? version) =>
        [.. _models.Values
            .Where(model => (name is null || model.Name == name) && (version is null || model.Version == version))
            .OrderBy(model => model.Name, StringComparer.Ordinal)
            .ThenBy(model => model.Version, StringComparer.Ordinal)];
}
