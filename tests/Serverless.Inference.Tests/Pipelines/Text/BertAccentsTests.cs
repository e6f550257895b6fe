using Serverless.Inference.Pipelines.Steps;

namespace Serverless.Inference.Tests.Pipelines.Text;

/// <summary>
/// BERT uncased's accent stripping without ICU. The test process runs with invariant globalization, as the
/// hosts do, where <see cref="string.Normalize()"/> changes nothing (so "é" stays "é" rather than "e" + U+0301).
/// </summary>
public sealed class BertAccentsTests
{
    [Fact]
    public void Strip_Ascii_SameInstance()
    {
        const string text = "Hello, world! 123";

        Assert.Same(text, BertAccents.Strip(text));
    }

    [Theory]
    [InlineData("Café NAÏVE", "Cafe NAIVE")]
    [InlineData("Ångström Ærø", "Angstrom Ærø")] // Æ and ø have no canonical decomposition
    [InlineData("Crème brûlée, façade, jalapeño", "Creme brulee, facade, jalapeno")]
    [InlineData("Łódź Straße", "Łodz Straße")] // Ł and ß neither
    [InlineData("Tiếng Việt", "Tieng Viet")] // two marks on one letter
    [InlineData("Ελληνικά Ἀθῆναι", "Ελληνικα Αθηναι")]
    [InlineData("Ёлка, йогурт", "Елка, иогурт")]
    [InlineData("\u212B\u212A", "AK")] // ANGSTROM SIGN, KELVIN SIGN
    public void Strip_PrecomposedLetters_BaseLetters(string text, string expected)
    {
        Assert.Equal(expected, BertAccents.Strip(text));
    }

    [Fact]
    public void Strip_CombiningMarks_Dropped()
    {
        Assert.Equal("eu", BertAccents.Strip("e\u0301\u0308u\u0323"));
    }

    [Fact]
    public void Strip_Hangul_DecomposesIntoJamo()
    {
        // 한 = ᄒ + ᅡ + ᆫ (with a final), 어 = ᄋ + ᅥ (without).
        Assert.Equal("\u1112\u1161\u11AB\u110B\u1165", BertAccents.Strip("한어"));
    }

    [Fact]
    public void Strip_CharactersOutsideThePlanes_KeptWhole()
    {
        Assert.Equal("a😀b𠀀", BertAccents.Strip("á😀b𠀀"));
    }
}
