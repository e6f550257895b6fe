using Serverless.Inference.Repository;

namespace Serverless.Inference.Tests.Repository;

public sealed class ModelNamesTests
{
    public static TheoryData<string> ValidNames => new()
    {
        "a",
        "Z",
        "7",
        "iris",
        "resnet18",
        "model-1.2_b",
        "v1.0",
        "a.b.c",
        "a-",
        "a_",
        "a.",
        new string('m', 64),
    };

    public static TheoryData<string?> InvalidNames => new()
    {
        null,
        "",
        new string('m', 65),
        ".hidden",
        "-dash",
        "_under",
        "..",
        "a..b",
        "a..",
        "a/b",
        "/a",
        "a\\b",
        "a%2Fb",
        "%2e%2e",
        "a b",
        "a:b",
        "a\0b",
        "a\n",
        "é",
        "modèle",
        "模型",
        "ｍodel",
    };

    [Theory]
    [MemberData(nameof(ValidNames))]
    public void IsValid_ValidName_IsTrue(string name)
    {
        Assert.True(ModelNames.IsValid(name));
        Assert.True(ModelNames.IsValid(name.AsSpan()));
        Assert.Equal(name, ModelNames.Require(name, "model name"));
    }

    [Theory]
    [MemberData(nameof(InvalidNames))]
    public void IsValid_InvalidName_IsFalse(string? name)
    {
        Assert.False(ModelNames.IsValid(name));
        Assert.False(ModelNames.IsValid(name.AsSpan()));
    }

    [Theory]
    [MemberData(nameof(InvalidNames))]
    public void Require_InvalidName_IsBadRequestNamingWhatAndTheRule(string? name)
    {
        var failure = Assert.Throws<InferenceException>(() => ModelNames.Require(name, "model version"));

        Assert.Equal(InferenceErrorKind.BadRequest, failure.Kind);
        Assert.Contains("invalid model version", failure.Message, StringComparison.Ordinal);
        Assert.Contains(ModelNames.Rule, failure.Message, StringComparison.Ordinal);
        Assert.DoesNotContain(failure.Message, char.IsControl);
    }

    [Fact]
    public void IsValid_LengthLimit_IsSixtyFourCharacters()
    {
        Assert.Equal(64, ModelNames.MaxLength);
        Assert.True(ModelNames.IsValid(new string('a', 64)));
        Assert.False(ModelNames.IsValid(new string('a', 65)));
    }

    [Fact]
    public void Printable_LongTextWithControlCharacters_IsShortenedAndCleaned()
    {
        var printable = ModelNames.Printable("a\r\nb\0" + new string('x', 200));

        Assert.StartsWith("a??b?", printable, StringComparison.Ordinal);
        Assert.EndsWith("...", printable, StringComparison.Ordinal);
        Assert.Equal(83, printable.Length);
        Assert.Equal("", ModelNames.Printable(null));
    }

    [Theory]
    [InlineData("..", "1", "model.onnx")]
    [InlineData("m", "..", "model.onnx")]
    [InlineData("m", "1", "../model.onnx")]
    [InlineData("m", "1", "")]
    public void ModelFilePath_InvalidPart_IsRefused(string model, string version, string fileName)
    {
        var failure = Assert.Throws<InferenceException>(() => new ModelFilePath(model, version, fileName));

        Assert.Equal(InferenceErrorKind.BadRequest, failure.Kind);
    }

    [Fact]
    public void ModelFilePath_ToString_IsTheRepositoryRelativePath()
    {
        Assert.Equal("m/model.json", ModelFilePath.Manifest("m").ToString());
        Assert.Equal("m/10/model.onnx", ModelFilePath.Onnx("m", "10").ToString());
    }
}
