using Serverless.Inference.Optimization;
using Serverless.Inference.Optimization.Variants;

namespace Serverless.Inference.Tests.Optimization;

public sealed class VersionFoldersTests : IDisposable
{
    private readonly string _model = Directory.CreateTempSubdirectory("versions-").FullName;

    public void Dispose() => Directory.Delete(_model, recursive: true);

    [Fact]
    public void Next_NoFolders_IsOne()
    {
        Assert.Equal("1", VersionFolders.Next(_model));
    }

    [Fact]
    public void Next_NumberedAndNamedFolders_IsOneAfterTheHighestNumber()
    {
        foreach (var name in new[] { "2", "10", "9", "stable", "-3", "1e3", ".optimize-x" })
        {
            Directory.CreateDirectory(Path.Combine(_model, name));
        }

        Assert.Equal("11", VersionFolders.Next(_model));
    }

    [Fact]
    public void NewStagingFolder_IsHiddenFromEveryStore()
    {
        var staging = VersionFolders.NewStagingFolder(_model);

        Assert.StartsWith(".optimize-", Path.GetFileName(staging), StringComparison.Ordinal);
        Assert.False(Serverless.Inference.Repository.ModelNames.IsValid(Path.GetFileName(staging)));
    }

    [Fact]
    public void MoveCreateOnly_FreeName_Moves()
    {
        var from = Directory.CreateDirectory(Path.Combine(_model, ".staged")).FullName;
        File.WriteAllText(Path.Combine(from, "model.onnx"), "variant");

        VersionFolders.MoveCreateOnly(from, Path.Combine(_model, "2"));

        Assert.Equal("variant", File.ReadAllText(Path.Combine(_model, "2", "model.onnx")));
        Assert.False(Directory.Exists(from));
    }

    [Theory]
    [InlineData(true)]
    [InlineData(false)]
    public void MoveCreateOnly_NameTaken_IsRefusedAndLeavesBothAlone(bool folder)
    {
        var from = Directory.CreateDirectory(Path.Combine(_model, ".staged")).FullName;
        File.WriteAllText(Path.Combine(from, "model.onnx"), "variant");
        var to = Path.Combine(_model, "2");
        if (folder)
        {
            Directory.CreateDirectory(to);
            File.WriteAllText(Path.Combine(to, "model.onnx"), "original");
        }
        else
        {
            File.WriteAllText(to, "a file");
        }

        var failure = Assert.Throws<OptimizationException>(() => VersionFolders.MoveCreateOnly(from, to));

        Assert.Contains("version 2 appeared", failure.Message, StringComparison.Ordinal);
        Assert.Equal(folder ? "original" : "a file", File.ReadAllText(folder ? Path.Combine(to, "model.onnx") : to));
        Assert.Equal("variant", File.ReadAllText(Path.Combine(from, "model.onnx")));
    }
}
