using Amazon.CDK;
using Amazon.CDK.AWS.Lambda;
using Constructs;

namespace Serverless.Infra.Aws.Constructs;

/// <summary>
/// The models packaged as a Lambda layer (<c>functions-aws/package.sh ... --layer</c>): one layer version per stack,
/// shared by every function, unpacked by Lambda into /opt so its <c>models/</c> is /opt/models.
/// </summary>
internal static class ModelsLayer
{
    private const string Id = "ModelsLayer";

    /// <summary>The stack's layer, created by the first function that asks.</summary>
    public static ILayerVersion Of(Construct scope, string layerPath)
    {
        var stack = Stack.Of(scope);
        return stack.Node.TryFindChild(Id) as ILayerVersion ?? new LayerVersion(stack, Id, new LayerVersionProps
        {
            Description = "ONNX models served from /opt/models before the bucket's models/.",
            Code = Code.FromAsset(layerPath),
            CompatibleRuntimes = [Runtime.PROVIDED_AL2023],
        });
    }
}
