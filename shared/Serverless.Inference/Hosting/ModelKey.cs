namespace Serverless.Inference.Hosting;

/// <summary>One version folder of one model: what a slot holds and a load produces.</summary>
internal readonly record struct ModelKey(string Model, string Version);
