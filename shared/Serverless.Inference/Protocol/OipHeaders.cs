namespace Serverless.Inference.Protocol;

public static class OipHeaders
{
    /// <summary>The binary tensor data extension's header: the length of the JSON part of the body.</summary>
    public const string InferenceHeaderContentLength = "Inference-Header-Content-Length";

    public const string Json = "application/json";

    internal const string Binary = "application/octet-stream";
}
