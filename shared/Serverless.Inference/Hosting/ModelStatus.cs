namespace Serverless.Inference.Hosting;

public sealed record ModelStatus(string Name, IReadOnlyList<string> Versions, string? DefaultVersion, ModelState State, string? Error);
