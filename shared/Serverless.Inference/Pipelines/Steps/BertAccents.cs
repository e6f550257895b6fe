using System.Globalization;
using System.Text;

namespace Serverless.Inference.Pipelines.Steps;

/// <summary>
/// BERT uncased's accent stripping (Unicode NFD, then every nonspacing mark dropped) without the ICU
/// normalization data that invariant-globalization processes lack: there <see cref="string.Normalize()"/>
/// returns its input unchanged, and FastBertTokenizer would turn "café" into [UNK] rather than "cafe".
/// Covers the precomposed letters of Latin, Greek and Cyrillic, Hangul syllables (decomposed into jamo,
/// as NFD does) and combining marks anywhere; other canonical decompositions (CJK compatibility
/// ideographs, two-part Indic vowels) are left as they are.
/// </summary>
internal static class BertAccents
{
    private const int First = 0x00C0;
    private const int End = 0x2200;

    // Hangul syllables decompose by arithmetic (The Unicode Standard, section 3.12).
    private const int HangulFirst = 0xAC00;
    private const int HangulLast = 0xD7A3;

    /// <summary>
    /// Each entry is a character, then every character in U+00C0..U+21FF whose NFD without nonspacing marks
    /// is that character. Generated from Python's unicodedata (Unicode 14):
    /// <c>d = "".join(x for x in unicodedata.normalize("NFD", c) if unicodedata.category(x) != "Mn")</c>
    /// for each c that is not itself a mark, grouped by d where d != c.
    /// </summary>
    private static readonly string[] Groups =
    [
        ";\u037E",
        "AÀÁÂÃÄÅĀĂĄǍǞǠǺȀȂȦḀẠẢẤẦẨẪẬẮẰẲẴẶ\u212B",
        "BḂḄḆ",
        "CÇĆĈĊČḈ",
        "DĎḊḌḎḐḒ",
        "EÈÉÊËĒĔĖĘĚȄȆȨḔḖḘḚḜẸẺẼẾỀỂỄỆ",
        "FḞ",
        "GĜĞĠĢǦǴḠ",
        "HĤȞḢḤḦḨḪ",
        "IÌÍÎÏĨĪĬĮİǏȈȊḬḮỈỊ",
        "JĴ",
        "KĶǨḰḲḴ\u212A",
        "LĹĻĽḶḸḺḼ",
        "MḾṀṂ",
        "NÑŃŅŇǸṄṆṈṊ",
        "OÒÓÔÕÖŌŎŐƠǑǪǬȌȎȪȬȮȰṌṎṐṒỌỎỐỒỔỖỘỚỜỞỠỢ",
        "PṔṖ",
        "RŔŖŘȐȒṘṚṜṞ",
        "SŚŜŞŠȘṠṢṤṦṨ",
        "TŢŤȚṪṬṮṰ",
        "UÙÚÛÜŨŪŬŮŰŲƯǓǕǗǙǛȔȖṲṴṶṸṺỤỦỨỪỬỮỰ",
        "VṼṾ",
        "WŴẀẂẄẆẈ",
        "XẊẌ",
        "YÝŶŸȲẎỲỴỶỸ",
        "ZŹŻŽẐẒẔ",
        "`\u1FEF",
        "aàáâãäåāăąǎǟǡǻȁȃȧḁạảấầẩẫậắằẳẵặ",
        "bḃḅḇ",
        "cçćĉċčḉ",
        "dďḋḍḏḑḓ",
        "eèéêëēĕėęěȅȇȩḕḗḙḛḝẹẻẽếềểễệ",
        "fḟ",
        "gĝğġģǧǵḡ",
        "hĥȟḣḥḧḩḫẖ",
        "iìíîïĩīĭįǐȉȋḭḯỉị",
        "jĵǰ",
        "kķǩḱḳḵ",
        "lĺļľḷḹḻḽ",
        "mḿṁṃ",
        "nñńņňǹṅṇṉṋ",
        "oòóôõöōŏőơǒǫǭȍȏȫȭȯȱṍṏṑṓọỏốồổỗộớờởỡợ",
        "pṕṗ",
        "rŕŗřȑȓṙṛṝṟ",
        "sśŝşšșṡṣṥṧṩ",
        "tţťțṫṭṯṱẗ",
        "uùúûüũūŭůűųưǔǖǘǚǜȕȗṳṵṷṹṻụủứừửữự",
        "vṽṿ",
        "wŵẁẃẅẇẉẘ",
        "xẋẍ",
        "yýÿŷȳẏẙỳỵỷỹ",
        "zźżžẑẓẕ",
        "\u00A8\u0385\u1FC1\u1FED\u1FEE",
        "\u00B4\u1FFD",
        "\u00B7\u0387",
        "ÆǢǼ",
        "ØǾ",
        "æǣǽ",
        "øǿ",
        "ſẛ",
        "ƷǮ",
        "ʒǯ",
        "ʹ\u0374",
        "ΑΆἈἉἊἋἌἍἎἏᾈᾉᾊᾋᾌᾍᾎᾏᾸᾹᾺΆᾼ",
        "ΕΈἘἙἚἛἜἝῈΈ",
        "ΗΉἨἩἪἫἬἭἮἯᾘᾙᾚᾛᾜᾝᾞᾟῊΉῌ",
        "ΙΊΪἸἹἺἻἼἽἾἿῘῙῚΊ",
        "ΟΌὈὉὊὋὌὍῸΌ",
        "ΡῬ",
        "ΥΎΫὙὛὝὟῨῩῪΎ",
        "ΩΏὨὩὪὫὬὭὮὯᾨᾩᾪᾫᾬᾭᾮᾯῺΏῼ\u2126",
        "αάἀἁἂἃἄἅἆἇὰάᾀᾁᾂᾃᾄᾅᾆᾇᾰᾱᾲᾳᾴᾶᾷ",
        "εέἐἑἒἓἔἕὲέ",
        "ηήἠἡἢἣἤἥἦἧὴήᾐᾑᾒᾓᾔᾕᾖᾗῂῃῄῆῇ",
        "ιΐίϊἰἱἲἳἴἵἶἷὶί\u1FBEῐῑῒΐῖῗ",
        "οόὀὁὂὃὄὅὸό",
        "ρῤῥ",
        "υΰϋύὐὑὒὓὔὕὖὗὺύῠῡῢΰῦῧ",
        "ωώὠὡὢὣὤὥὦὧὼώᾠᾡᾢᾣᾤᾥᾦᾧῲῳῴῶῷ",
        "ϒϓϔ",
        "ІЇ",
        "АӐӒ",
        "ГЃ",
        "ЕЀЁӖ",
        "ЖӁӜ",
        "ЗӞ",
        "ИЍЙӢӤ",
        "КЌ",
        "ОӦ",
        "УЎӮӰӲ",
        "ЧӴ",
        "ЫӸ",
        "ЭӬ",
        "аӑӓ",
        "гѓ",
        "еѐёӗ",
        "жӂӝ",
        "зӟ",
        "ийѝӣӥ",
        "кќ",
        "оӧ",
        "уўӯӱӳ",
        "чӵ",
        "ыӹ",
        "эӭ",
        "ії",
        "ѴѶ",
        "ѵѷ",
        "ӘӚ",
        "әӛ",
        "ӨӪ",
        "өӫ",
        "\u1FBF\u1FCD\u1FCE\u1FCF",
        "\u1FFE\u1FDD\u1FDE\u1FDF",
        "\u2002\u2000",
        "\u2003\u2001",
        "\u2190\u219A",
        "\u2192\u219B",
        "\u2194\u21AE",
        "\u21D0\u21CD",
        "\u21D2\u21CF",
        "\u21D4\u21CE",
    ];

    private static readonly char[] Folded = BuildTable();

    /// <summary>The text as BERT uncased sees it after stripping accents; the same instance when nothing changes.</summary>
    public static string Strip(string text)
    {
        if (Ascii.IsValid(text))
        {
            return text;
        }

        var builder = new StringBuilder(text.Length);
        Span<char> pair = stackalloc char[2];
        foreach (var rune in text.EnumerateRunes())
        {
            var value = rune.Value;
            if (Rune.GetUnicodeCategory(rune) == UnicodeCategory.NonSpacingMark)
            {
                continue;
            }

            if (value is >= First and < End && Folded[value - First] != '\0')
            {
                builder.Append(Folded[value - First]);
            }
            else if (value is >= HangulFirst and <= HangulLast)
            {
                AppendJamo(builder, value - HangulFirst);
            }
            else
            {
                builder.Append(pair[..rune.EncodeToUtf16(pair)]);
            }
        }

        return builder.ToString();
    }

    private static void AppendJamo(StringBuilder builder, int index)
    {
        const int VowelCount = 21, TrailingCount = 28;
        builder.Append((char)(0x1100 + (index / (VowelCount * TrailingCount))));
        builder.Append((char)(0x1161 + (index % (VowelCount * TrailingCount) / TrailingCount)));
        if (index % TrailingCount != 0)
        {
            builder.Append((char)(0x11A7 + (index % TrailingCount)));
        }
    }

    private static char[] BuildTable()
    {
        var table = new char[End - First];
        foreach (var group in Groups)
        {
            foreach (var source in group.AsSpan(1))
            {
                table[source - First] = group[0];
            }
        }

        return table;
    }
}
