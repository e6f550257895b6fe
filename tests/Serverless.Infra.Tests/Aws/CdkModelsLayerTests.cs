using System.Text.Json.Nodes;
using Serverless.Functions.Aws;
using Serverless.Infra.Tests.Support;

namespace Serverless.Infra.Tests.Aws;

/// <summary>Models packaged as a layer (<c>-c modelsLayerPath=...</c>, the Variant stack) or not at all (the defaults).</summary>
[Collection(CdkCollection.Name)]
public sealed class CdkModelsLayerTests(CdkSynthFixture cdk)
{
    [Fact]
    public void Variant_ModelsLayer_OneLayerVersionOnBothFunctionsServedFromOptModels()
    {
        var (layerId, layer) = CfnTemplate.Single(cdk.VariantJson, "AWS::Lambda::LayerVersion");

        Assert.Equal(["provided.al2023"], CfnTemplate.Strings(layer["Properties"]!["CompatibleRuntimes"]));
        Assert.NotNull(layer["Properties"]!["Content"]!["S3Key"]);
        Assert.All([StackFunctions.Http(cdk.VariantJson), StackFunctions.Batch(cdk.VariantJson)], function =>
        {
            Assert.Equal(layerId, CfnTemplate.Target(Assert.Single(function["Layers"]!.AsArray())));
            Assert.Equal(LambdaContract.LayerModelDirectory, function["Environment"]!["Variables"]![LambdaContract.ModelDirectoryVariable]!.GetValue<string>());
        });
    }

    [Fact]
    public void Defaults_NoModelsPackaged_NoLayerAndNoModelFolderVariable()
    {
        Assert.Empty(CfnTemplate.OfType(cdk.DefaultsJson, "AWS::Lambda::LayerVersion"));
        Assert.All(CfnTemplate.OfType(cdk.DefaultsJson, "AWS::Lambda::Function"), function =>
        {
            Assert.Null(function.Resource["Properties"]!["Layers"]);
            Assert.Null(function.Resource["Properties"]!["Environment"]!["Variables"]![LambdaContract.ModelDirectoryVariable]);
        });
    }
}
