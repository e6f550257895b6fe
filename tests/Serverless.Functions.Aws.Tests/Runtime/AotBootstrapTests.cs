namespace Serverless.Functions.Aws.Tests.Runtime;

/// <summary>How the tests' Native AOT publish reads trim and AOT warnings out of a publish log.</summary>
public sealed class AotBootstrapTests
{
    [Fact]
    public void TrimWarnings_IlcLines_CodeAndMemberOncePerWarning()
    {
        const string log = """
            Generating native code
            ILC : AOT analysis warning IL3050: SixLabors.ImageSharp.EnumUtils.Parse<TEnum>(Int32,!!0): Using member 'System.Enum.GetValues(Type)' which has 'RequiresDynamicCodeAttribute' can break functionality when AOT compiling. [/src/bootstrap.csproj]
            ILC : Trim analysis warning IL2026: Some.Library.Type.Method(String, Int32): Using member 'X' which has 'RequiresUnreferencedCodeAttribute' [/src/bootstrap.csproj]
            ILC : AOT analysis warning IL3050: SixLabors.ImageSharp.EnumUtils.Parse<TEnum>(Int32,!!0): Using member 'System.Enum.GetValues(Type)' which has 'RequiresDynamicCodeAttribute' can break functionality when AOT compiling. [/src/bootstrap.csproj]
            /src/Program.cs(3,1): warning CS0168: The variable 'x' is declared but never used
            """;

        var warnings = AotBootstrap.TrimWarnings(log);

        Assert.Equal(
            ["IL3050 SixLabors.ImageSharp.EnumUtils.Parse<TEnum>(Int32,!!0)", "IL2026 Some.Library.Type.Method(String, Int32)"],
            warnings);
    }
}
