using System.Reflection;

namespace Serverless.Infra.Tests.Support;

/// <summary>Locations the build recorded (AssemblyMetadata), so tests run from any directory and artifacts path.</summary>
internal static class InfraPaths
{
    public static string RepositoryRoot { get; } = Path.GetFullPath(Metadata("RepositoryRoot"));

    public static string AzureFolder { get; } = Path.Combine(RepositoryRoot, "infra", "azure");

    public static string AzureMainTemplate { get; } = Path.Combine(AzureFolder, "main.bicep");

    public static string AwsFolder { get; } = Path.Combine(RepositoryRoot, "infra", "aws");

    public static string Bicep { get; } = Metadata("BicepPath");

    public static string CdkCli { get; } = Metadata("CdkCliPath");

    /// <summary>The CDK app's entry assembly, copied next to the tests by the project reference.</summary>
    public static string CdkAppAssembly { get; } = Path.Combine(AppContext.BaseDirectory, "Serverless.Infra.Aws.dll");

    private static string Metadata(string key) =>
        typeof(InfraPaths).Assembly.GetCustomAttributes<AssemblyMetadataAttribute>().SingleOrDefault(a => a.Key == key)?.Value
        ?? throw new InvalidOperationException($"The test assembly has no '{key}' metadata: build it with its project file.");
}
