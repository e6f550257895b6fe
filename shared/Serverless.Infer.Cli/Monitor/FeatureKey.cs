namespace Serverless.Infer.Cli.Monitor;

/// <summary>A feature's identity: its group and its flattened name (<c>Features[2]</c>, <c>PredictedLabel</c>).</summary>
internal readonly record struct FeatureKey(FeatureGroup Group, string Name)
{
    public override string ToString() => $"{(Group == FeatureGroup.Input ? "inputs" : "outputs")}.{Name}";
}
