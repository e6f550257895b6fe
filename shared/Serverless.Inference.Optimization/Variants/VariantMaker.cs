using System.Globalization;
using System.Security.Cryptography;
using System.Text.Json.Nodes;
using Microsoft.ML.OnnxRuntime;
using Serverless.Inference.Hosting;
using Serverless.Inference.Optimization.Onnx;
using Serverless.Inference.Optimization.Reports;
using Serverless.Inference.Repository;

namespace Serverless.Inference.Optimization.Variants;

/// <summary>
/// <c>infer optimize</c> without the console: makes a variant of a model version, measures it against its source,
/// and publishes it as the next version folder (with its record, and an alias if asked) only when it meets the
/// thresholds. Every refusal is an <see cref="OptimizationException"/> and leaves the repository as it was.
/// </summary>
/// <param name="rewrites">The rewrite behind each method: <see cref="GraphRewrites.For"/> unless a test needs one whose effect it knows exactly.</param>
internal sealed class VariantMaker(TimeProvider time, MeasureOptions measure, Func<OptimizationMethod, IGraphRewrite>? rewrites = null)
{
    public VariantMaker()
        : this(TimeProvider.System, MeasureOptions.Default)
    {
    }

    /// <summary>Runs just before the variant's folder is renamed into place; tests make a version appear there.</summary>
    internal Action<string>? BeforePublish { get; init; }

    public async Task<OptimizeOutcome> MakeAsync(OptimizeRequest request, CancellationToken cancellationToken)
    {
        var method = Check(request);
        var repository = Path.GetFullPath(request.Repository);
        var store = new LocalFolderModelStore(repository);
        var sourceVersion = await ResolveAsync(store, request, cancellationToken).ConfigureAwait(false);
        var modelFolder = Path.Combine(repository, request.Model);
        var manifestPath = Path.Combine(modelFolder, ModelFilePath.ManifestFileName);
        var manifestBytes = await File.ReadAllBytesAsync(manifestPath, cancellationToken).ConfigureAwait(false);
        var manifest = Parse(manifestBytes, request.Model);
        if (request.PublishAlias is { } alias && Directory.Exists(Path.Combine(modelFolder, alias)))
        {
            throw new OptimizationException($"--publish {alias}: '{alias}' is a version folder of '{request.Model}'; an alias needs a name of its own");
        }

        var sourceFolder = Path.Combine(modelFolder, sourceVersion);
        var samples = await ReadSamplesAsync(store, request, sourceVersion, cancellationToken).ConfigureAwait(false);
        var sourceModel = OnnxModelFile.Load(Path.Combine(sourceFolder, ModelFilePath.ModelFileName));
        var rewrite = (rewrites ?? GraphRewrites.For)(method).Rewrite(
            new RewriteRequest(sourceModel, sourceFolder, manifest, request.CalibrationFile, RewriteOptions.Default), cancellationToken);

        var staging = VersionFolders.NewStagingFolder(modelFolder);
        try
        {
            var version = VersionFolders.Next(modelFolder);
            var stagedModel = Path.Combine(staging, request.Model);
            var stagedVersion = Path.Combine(stagedModel, version);
            CopyVersionFiles(sourceFolder, stagedVersion);
            File.WriteAllBytes(Path.Combine(stagedModel, ModelFilePath.ManifestFileName), manifestBytes);
            OnnxModelFile.Save(rewrite.Model, Path.Combine(stagedVersion, ModelFilePath.ModelFileName));

            var measurer = new ModelMeasurer(measure);
            var source = await measurer.MeasureAsync(store, request.Model, sourceVersion, samples, cancellationToken).ConfigureAwait(false);
            var variant = await measurer.MeasureAsync(new LocalFolderModelStore(staging), request.Model, version, samples, cancellationToken).ConfigureAwait(false);
            var outputs = OutputComparer.Compare(source.Outputs, variant.Outputs);
            var gates = ReportGates.Check(request.MinCosine, request.MinAgreement, outputs);
            var report = new OptimizationReport(
                request.Model,
                sourceVersion,
                version,
                method.Name(),
                rewrite.Settings,
                rewrite.RewrittenNodes,
                new ReportInputs(samples.Kind, samples.Raw ? null : samples.Source, samples.Lines.Count),
                outputs,
                source.Cost,
                variant.Cost,
                gates,
                gates.Passed,
                gates.Passed ? request.PublishAlias : null,
                OrtEnv.Instance().GetVersionString(),
                Environment.ProcessorCount,
                PeakMemory.Description,
                time.GetUtcNow());

            if (!gates.Passed)
            {
                var rejected = Path.Combine(modelFolder, $"optimization-report.{method.Name()}.rejected.{report.Created:yyyyMMdd'T'HHmmss'Z'}.json");
                await WriteAtomicallyAsync(rejected, report.ToJson(), cancellationToken).ConfigureAwait(false);
                return new OptimizeOutcome(report, rejected);
            }

            await File.WriteAllBytesAsync(Path.Combine(stagedVersion, OptimizationReport.FileName), report.ToJson(), cancellationToken).ConfigureAwait(false);
            var target = Path.Combine(modelFolder, version);
            BeforePublish?.Invoke(target);
            VersionFolders.MoveCreateOnly(stagedVersion, target);
            try
            {
                var sha256 = await Sha256Async(Path.Combine(sourceFolder, ModelFilePath.ModelFileName), cancellationToken).ConfigureAwait(false);
                await RecordAsync(manifestPath, request, report, sha256, cancellationToken).ConfigureAwait(false);
            }
            catch
            {
                // The version is not published without its record: put it back where the staging folder is removed.
                Directory.Move(target, stagedVersion);
                throw;
            }

            return new OptimizeOutcome(report, Path.Combine(target, OptimizationReport.FileName));
        }
        finally
        {
            Directory.Delete(staging, recursive: true);
        }
    }

    private static OptimizationMethod Check(OptimizeRequest request)
    {
        if (!OptimizationMethods.TryParse(request.Method, out var method))
        {
            throw new OptimizationException($"unknown method '{ModelNames.Printable(request.Method)}': use {string.Join(", ", OptimizationMethods.Names)}");
        }

        if (!ModelNames.IsValid(request.Model))
        {
            throw new OptimizationException($"invalid model name '{ModelNames.Printable(request.Model)}': it must match {ModelNames.Rule}");
        }

        if (request.PublishAlias is { } alias && !ModelNames.IsValid(alias))
        {
            throw new OptimizationException($"--publish: invalid alias '{ModelNames.Printable(alias)}': it must match {ModelNames.Rule}");
        }

        if (request.MinCosine is { } cosine && !(cosine is >= -1 and <= 1))
        {
            throw new OptimizationException("--min-cosine must be between -1 and 1");
        }

        if (request.MinAgreement is { } agreement && !(agreement is >= 0 and <= 1))
        {
            throw new OptimizationException("--min-agreement must be between 0 and 1 (a share of rows)");
        }

        return method;
    }

    /// <summary>The source version as a host would resolve the request: a folder, an alias, or the default (default_version, else the highest).</summary>
    private static async Task<string> ResolveAsync(LocalFolderModelStore store, OptimizeRequest request, CancellationToken cancellationToken)
    {
        if (!Directory.Exists(store.Description))
        {
            throw new OptimizationException($"the model repository {store.Description} does not exist");
        }

        using var host = new ModelHost(store, new ModelHostOptions());
        try
        {
            return await host.ResolveVersionAsync(request.Model, request.Version, cancellationToken).ConfigureAwait(false);
        }
        catch (InferenceException e)
        {
            throw new OptimizationException(e.Message, e);
        }
    }

    private static ModelManifest Parse(byte[] manifest, string model)
    {
        try
        {
            return ModelManifest.Parse(manifest, $"{model}/{ModelFilePath.ManifestFileName}");
        }
        catch (InferenceException e)
        {
            throw new OptimizationException(e.Message, e);
        }
    }

    /// <summary>The report's rows, checked against the source model's inputs before anything is rewritten.</summary>
    private static async Task<SampleSet> ReadSamplesAsync(LocalFolderModelStore store, OptimizeRequest request, string version, CancellationToken cancellationToken)
    {
        var samples = request.SamplesFile is { } samplesFile ? SampleSet.Read(samplesFile, "samples")
            : request.CalibrationFile is { } calibration ? SampleSet.Read(calibration, "calibration")
            : null;
        using var host = new ModelHost(store, new ModelHostOptions());
        ModelLease lease;
        try
        {
            lease = await host.AcquireAsync(request.Model, version, cancellationToken).ConfigureAwait(false);
        }
        catch (InferenceException e)
        {
            throw new OptimizationException($"model '{request.Model}' version {version} does not load: {e.Message}", e);
        }

        using (lease)
        {
            samples ??= SampleSet.Generate(lease.Model.Signature)
                ?? throw new OptimizationException(
                    $"model '{request.Model}' takes {string.Join(", ", lease.Endpoint.Signature.Inputs)}, which cannot be made up: pass --samples FILE, JSON lines in the model's request form");
            new SampleRunner(samples.Raw ? lease.Model : lease.Endpoint, samples).Check();
            return samples;
        }
    }

    /// <summary>Everything in the source version but its model (vocabulary, labels...), and never an earlier report.</summary>
    private static void CopyVersionFiles(string from, string to)
    {
        foreach (var file in Directory.EnumerateFiles(from, "*", SearchOption.AllDirectories))
        {
            var relative = Path.GetRelativePath(from, file);
            if (relative is ModelFilePath.ModelFileName or OptimizationReport.FileName)
            {
                continue;
            }

            var copy = Path.Combine(to, relative);
            Directory.CreateDirectory(Path.GetDirectoryName(copy)!);
            File.Copy(file, copy);
        }

        Directory.CreateDirectory(to);
    }

    /// <summary>The variant's record, and the alias, in one write of model.json that changes nothing else.</summary>
    private static async Task RecordAsync(string manifestPath, OptimizeRequest request, OptimizationReport report, string sourceSha256, CancellationToken cancellationToken)
    {
        var record = new JsonObject
        {
            ["source_version"] = report.SourceVersion,
            ["source_sha256"] = sourceSha256,
            ["method"] = report.Method,
            ["settings"] = new JsonObject(report.Settings.Select(setting => KeyValuePair.Create(setting.Key, (JsonNode?)setting.Value))),
            ["created"] = report.Created.ToString("O", CultureInfo.InvariantCulture),
            ["onnxruntime"] = report.Onnxruntime,
        };
        var updates = new List<(string, Func<JsonNode?, JsonNode>)>
        {
            ("variants", current => With(current, report.Version, record)),
        };
        if (request.PublishAlias is { } alias)
        {
            updates.Add(("aliases", current => With(current, alias, JsonValue.Create(report.Version))));
        }

        // Read again: the manifest may have been edited while the variant was made.
        var current = await File.ReadAllBytesAsync(manifestPath, cancellationToken).ConfigureAwait(false);
        var edited = ManifestEditor.SetMembers(current, updates);
        Parse(edited, request.Model);
        await WriteAtomicallyAsync(manifestPath, edited, cancellationToken).ConfigureAwait(false);
    }

    private static JsonObject With(JsonNode? current, string name, JsonNode value)
    {
        var members = current as JsonObject ?? new JsonObject();
        members[name] = value;
        return members;
    }

    private static async Task WriteAtomicallyAsync(string path, byte[] content, CancellationToken cancellationToken)
    {
        var part = Path.Combine(Path.GetDirectoryName(path)!, $".{Path.GetFileName(path)}.{Guid.NewGuid():N}.part");
        try
        {
            await File.WriteAllBytesAsync(part, content, cancellationToken).ConfigureAwait(false);
            File.Move(part, path, overwrite: true);
        }
        finally
        {
            File.Delete(part);
        }
    }

    private static async Task<string> Sha256Async(string path, CancellationToken cancellationToken)
    {
        await using var stream = File.OpenRead(path);
        return Convert.ToHexStringLower(await SHA256.HashDataAsync(stream, cancellationToken).ConfigureAwait(false));
    }
}
