namespace Serverless.Inference.Hosting;

/// <summary>Why a version failed to load, as callers may see it, and when the next request may try again.</summary>
internal sealed record LoadFailure(string Message, string? Detail, DateTimeOffset RetryAt);
