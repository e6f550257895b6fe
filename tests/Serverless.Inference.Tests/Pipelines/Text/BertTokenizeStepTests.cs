using Serverless.Inference.Pipelines;
using Serverless.Inference.Pipelines.Steps;
using Serverless.Inference.Runtime;
using static Serverless.Inference.Tests.Pipelines.Text.TextSteps;

namespace Serverless.Inference.Tests.Pipelines.Text;

/// <summary>
/// The bert_tokenize step with the MiniLM model's vocabulary (BERT uncased): ids as BERT's reference tokenizer
/// gives them, padding, truncation, and the texts a caller can get wrong.
/// </summary>
public sealed class BertTokenizeStepTests
{
    private static readonly Lazy<Dictionary<string, long>> Vocabulary = new(() =>
        File.ReadLines(VocabPath).Select((token, id) => (token, id: (long)id)).ToDictionary(entry => entry.token, entry => entry.id, StringComparer.Ordinal));

    // Prepared once per test, as a model load prepares it once for all its requests.
    private readonly IPipelineOperation _tokenizer = Prepare(Tokenizer());

    [Fact]
    public void Apply_ExampleSentence_GivesBertReferenceIds()
    {
        var run = Apply(_tokenizer, "This is an example sentence");

        // bert-base-uncased (and all-MiniLM-L6-v2, which shares its vocabulary) encodes this sentence so.
        Assert.Equal([101L, 2023, 2003, 2019, 2742, 6251, 102], Tokens(run, 0));
    }

    /// <summary>
    /// Each expected list is what BERT uncased's BasicTokenizer + WordpieceTokenizer give, written as tokens and
    /// looked up in vocab.txt (an id is the token's 0-based line number). BasicTokenizer lowercases, strips accents
    /// (NFD, then nonspacing marks dropped), puts each CJK character and each punctuation character on its own;
    /// WordPiece then takes the longest vocabulary entry that starts the word, then the longest "##" entry that
    /// continues it, and makes the whole word [UNK] when no entry fits.
    /// </summary>
    [Theory]
    // Accents: vocab.txt has no accented entry at all; "cafe" and "naive" are whole entries.
    [InlineData("café naïve", "[CLS] cafe naive [SEP]")]
    [InlineData("Café NAÏVE", "[CLS] cafe naive [SEP]")]
    // "e" + U+0301 COMBINING ACUTE: the mark is dropped, leaving the entry "e".
    [InlineData("e\u0301", "[CLS] e [SEP]")]
    // Accents stripped, then WordPiece: "angstrom" is no entry, "ang" the longest that starts it, "##strom" the rest.
    [InlineData("ÅNGSTRÖM", "[CLS] ang ##strom [SEP]")]
    // "creme": cr + ##eme; "brulee": br + ##ule + ##e (no longer entry starts or continues either).
    [InlineData("Crème brûlée", "[CLS] cr ##eme br ##ule ##e [SEP]")]
    // Hangul: NFD splits each syllable into jamo; vocab.txt has single jamo only ("ᄒ", "##ᅡ", ...): 한 = ᄒ ᅡ ᆫ,
    // 국 = ᄀ ᅮ ᆨ, 어 = ᄋ ᅥ, one word, so every jamo after the first is a "##" piece.
    [InlineData("한국어", "[CLS] ᄒ ##ᅡ ##ᆫ ##ᄀ ##ᅮ ##ᆨ ##ᄋ ##ᅥ [SEP]")]
    // An emoji is a word of its own with no entry and no piece that starts it: [UNK].
    [InlineData("hello 😀 world", "[CLS] hello [UNK] world [SEP]")]
    // CJK characters are split apart; 一 is an entry, 凸 (U+51F8) is not: [UNK].
    [InlineData("一凸", "[CLS] 一 [UNK] [SEP]")]
    // Punctuation is split off as tokens of its own: "," and "!", the apostrophe and the hyphen.
    [InlineData("Hello, world!", "[CLS] hello , world ! [SEP]")]
    [InlineData("don't stop-believing!", "[CLS] don ' t stop - believing ! [SEP]")]
    // Word pieces: "tokenization" is no entry; "token" is the longest that starts it, "##ization" continues it.
    [InlineData("tokenization", "[CLS] token ##ization [SEP]")]
    // "unaffable": "una" is the longest start ("unaf", "unaff", ... are no entries), then "##ffa", then "##ble".
    [InlineData("unaffable", "[CLS] una ##ffa ##ble [SEP]")]
    // Whitespace of any kind only separates words.
    [InlineData("  hello\tworld \n", "[CLS] hello world [SEP]")]
    public void Apply_Text_GivesTheIdsOfBertUncasedTokens(string text, string tokens)
    {
        var run = Apply(_tokenizer, text);

        Assert.Equal(Ids(tokens), Tokens(run, 0));
    }

    [Fact]
    public void Apply_ReferenceTokens_AreTheVocabularyLines()
    {
        // The ids the theory above derives from vocab.txt, spelled out for the first two cases.
        Assert.Equal([101L, 7668, 15743, 102], Ids("[CLS] cafe naive [SEP]"));
        Assert.Equal([101L, 14477, 20961, 3468, 102], Ids("[CLS] una ##ffa ##ble [SEP]"));
    }

    [Theory]
    [InlineData("")]
    [InlineData("   \t\n")]
    public void Apply_EmptyOrBlankText_400NamingTheElement(string text)
    {
        // Refused, not encoded as a bare [CLS] [SEP]: its embedding would mean nothing.
        var error = Assert.Throws<InferenceException>(() => Apply(_tokenizer, "hello", text));

        Assert.Equal(InferenceErrorKind.BadRequest, error.Kind);
        Assert.Equal("input 'text' element 1 is empty: there is no text to encode", error.Message);
    }

    [Fact]
    public void Apply_Batch_PadsToTheLongestTextWithMaskZero()
    {
        var run = Apply(_tokenizer, "hello", "This is an example sentence", "hi");

        Assert.Equal([3L, 7], run.Get("input_ids").Shape);
        Assert.Equal([101L, 7592, 102, 0, 0, 0, 0], Row(run, "input_ids", 0));
        Assert.Equal([1L, 1, 1, 0, 0, 0, 0], Row(run, "attention_mask", 0));
        Assert.Equal([101L, 2023, 2003, 2019, 2742, 6251, 102], Row(run, "input_ids", 1));
        Assert.Equal([1L, 1, 1, 1, 1, 1, 1], Row(run, "attention_mask", 1));
        Assert.Equal([101L, 7632, 102, 0, 0, 0, 0], Row(run, "input_ids", 2));
        foreach (var name in new[] { "input_ids", "attention_mask", "token_type_ids" })
        {
            Assert.Equal(TensorDataType.Int64, run.Get(name).DataType);
            Assert.Equal([3L, 7], run.Get(name).Shape);
        }

        Assert.All(run.Get("token_type_ids").AsSpan<long>().ToArray(), type => Assert.Equal(0L, type));
    }

    [Fact]
    public void Apply_PadMaxLength_EveryRowIsMaxLengthLong()
    {
        var run = Apply(Prepare(Tokenizer(maxLength: 10, pad: BertTokenizeStep.PadMaxLength)), "hello", "hello world");

        Assert.Equal([2L, 10], run.Get("input_ids").Shape);
        Assert.Equal([101L, 7592, 102, 0, 0, 0, 0, 0, 0, 0], Row(run, "input_ids", 0));
        Assert.Equal([101L, 7592, 2088, 102, 0, 0, 0, 0, 0, 0], Row(run, "input_ids", 1));
        Assert.Equal([1L, 1, 1, 1, 0, 0, 0, 0, 0, 0], Row(run, "attention_mask", 1));
    }

    [Fact]
    public void Apply_OneTextPerRowAsNBy1_SameAsN()
    {
        var run = Apply(_tokenizer, [2, 1], "hello"u8.ToArray(), "hello world"u8.ToArray());

        Assert.Equal([2L, 4], run.Get("input_ids").Shape);
        Assert.Equal(Ids("[CLS] hello world [SEP]"), Row(run, "input_ids", 1));
    }

    [Fact]
    public void Apply_TextOverMaxLength_KeepsTheFirstTokensEndsWithSepAndCountsIt()
    {
        var tokenizer = Prepare(Tokenizer(maxLength: 8));

        var run = Apply(tokenizer, "one two three four five six seven eight nine", "one two", "one two three four five six");

        // Cut to 8 tokens as BERT's truncation does: [CLS], the first 6 word pieces, [SEP].
        Assert.Equal([3L, 8], run.Get("input_ids").Shape);
        Assert.Equal(Ids("[CLS] one two three four five six [SEP]"), Row(run, "input_ids", 0));
        Assert.Equal(Ids("[CLS] one two [SEP]"), Tokens(run, 1));
        // Exactly 8 tokens fit: not cut.
        Assert.Equal(Ids("[CLS] one two three four five six [SEP]"), Row(run, "input_ids", 2));
        Assert.Equal("1", Parameter(run, BertTokenizeStep.TruncatedParameter));
    }

    [Fact]
    public void Apply_WordCrossingMaxLength_KeepsItsFirstPieces()
    {
        // "unaffable" is una ##ffa ##ble; with room for two word pieces, "hello" and "una" stay.
        var run = Apply(Prepare(Tokenizer(maxLength: 4)), "hello unaffable", "hello unaffable world");

        Assert.Equal(Ids("[CLS] hello una [SEP]"), Row(run, "input_ids", 0));
        Assert.Equal(Ids("[CLS] hello una [SEP]"), Row(run, "input_ids", 1));
        Assert.Equal("2", Parameter(run, BertTokenizeStep.TruncatedParameter));
    }

    [Fact]
    public void Apply_VeryLongText_CutsWithoutReadingPastTheLimit()
    {
        var text = string.Join(' ', Enumerable.Repeat("example", 200_000));

        var run = Apply(Prepare(Tokenizer(maxLength: 256)), text);

        var ids = Row(run, "input_ids", 0);
        Assert.Equal(256, ids.Length);
        Assert.Equal([101L, 2742], ids[..2]);
        Assert.Equal(102L, ids[^1]);
        Assert.All(ids[1..^1], id => Assert.Equal(2742L, id));
        Assert.Equal("1", Parameter(run, BertTokenizeStep.TruncatedParameter));
    }

    [Theory]
    [InlineData(new byte[] { 0xC3, 0x28 })] // a two-byte sequence whose second byte is no continuation
    [InlineData(new byte[] { 0xC0, 0x80 })] // an overlong NUL
    [InlineData(new byte[] { 0xED, 0xA0, 0x80 })] // a UTF-16 surrogate, encoded
    [InlineData(new byte[] { 0x61, 0xFF })] // 0xFF never appears in UTF-8
    public void Apply_InvalidUtf8_BadRequestNamingTheElement(byte[] bad)
    {
        var error = Assert.Throws<InferenceException>(() => Apply(_tokenizer, [3], "fine"u8.ToArray(), bad, "also fine"u8.ToArray()));

        Assert.Equal(InferenceErrorKind.BadRequest, error.Kind);
        Assert.Equal("input 'text' element 1 is not valid UTF-8 text", error.Message);
    }

    [Theory]
    [InlineData(new long[] { 1, 2 })]
    [InlineData(new long[] { 2, 2 })]
    [InlineData(new long[] { 1, 1, 2 })]
    public void Apply_MoreThanOneTextPerRow_BadRequest(long[] shape)
    {
        var elements = Enumerable.Range(0, (int)shape.Aggregate(1L, (a, b) => a * b)).Select(_ => "hello"u8.ToArray()).ToArray();

        var error = Assert.Throws<InferenceException>(() => Apply(_tokenizer, shape, elements));

        Assert.Equal(InferenceErrorKind.BadRequest, error.Kind);
        Assert.Contains("one text per row: shape [N] or [N, 1]", error.Message, StringComparison.Ordinal);
    }

    [Fact]
    public void Apply_LowercaseOff_KeepsCase()
    {
        // The uncased vocabulary has no upper-case entry, so a cased tokenizer finds nothing for "HELLO".
        var cased = Prepare(new BertTokenizeStep("text", "vocab.txt", Lowercase: false));

        var run = Apply(cased, "hello HELLO");

        Assert.Equal(Ids("[CLS] hello [UNK] [SEP]"), Tokens(run, 0));
    }

    [Fact]
    public void Apply_LiteralSpecialToken_CannotInjectIt()
    {
        // A caller's text never yields a second [SEP] or a [MASK]: the tokenizer makes a literal [SEP] (one of its
        // special tokens) [UNK], and reads "[MASK]" (to it an ordinary entry) as punctuation and a word.
        var run = Apply(_tokenizer, "hello [SEP] world [MASK]");

        Assert.Equal(Ids("[CLS] hello [UNK] world [ mask ] [SEP]"), Tokens(run, 0));
    }

    [Fact]
    public void Apply_OutputNamesSet_ProducesThoseTensors()
    {
        var step = new BertTokenizeStep("text", "vocab.txt", InputIds: "ids", AttentionMask: "mask", TokenTypeIds: "types");

        var run = Apply(Prepare(step), "hello");

        Assert.Equal(["ids", "mask", "types"], step.Produces);
        Assert.Equal([101L, 7592, 102], Row(run, "ids", 0));
        Assert.Equal([1L, 1, 1], Row(run, "mask", 0));
        Assert.Equal([0L, 0, 0], Row(run, "types", 0));
    }

    [Fact]
    public async Task Apply_ConcurrentRequests_SameIdsAsOneAtATime()
    {
        // One prepared tokenizer serves every request at once.
        string[] texts = [.. Enumerable.Range(0, 48).Select(i => string.Join(' ', Enumerable.Range(0, 1 + (i % 13)).Select(w => $"word{i * w} café unaffable {i}")))];
        var expected = texts.Select(text => Tokens(Apply(_tokenizer, text), 0)).ToList();
        using var start = new ManualResetEventSlim();

        var workers = Enumerable.Range(0, 8).Select(worker => Task.Run(() =>
        {
            start.Wait();
            for (var round = 0; round < 20; round++)
            {
                var i = (worker * 7 + round) % texts.Length;
                Assert.Equal(expected[i], Tokens(Apply(_tokenizer, texts[i]), 0));
            }
        })).ToList();
        start.Set();
        await Task.WhenAll(workers);
    }

    [Theory]
    [InlineData(1, BertTokenizeStep.PadLongest, "max_length must be between 2")]
    [InlineData(BertTokenizeStep.MaxLengthLimit + 1, BertTokenizeStep.PadLongest, "max_length must be between 2")]
    [InlineData(128, "left", "pad must be \"longest\" or \"max_length\"")]
    public void Create_BadOption_Unavailable(int maxLength, string pad, string message)
    {
        var error = Assert.Throws<InferenceException>(() => Prepare(Tokenizer(maxLength, pad)));

        Assert.Equal(InferenceErrorKind.Unavailable, error.Kind);
        Assert.StartsWith("bert_tokenize: ", error.Message, StringComparison.Ordinal);
        Assert.Contains(message, error.Message, StringComparison.Ordinal);
    }

    [Fact]
    public void Create_VocabularyWithoutSpecialTokens_Unavailable()
    {
        var path = Path.Combine(Path.GetTempPath(), $"vocab-{Guid.NewGuid():N}.txt");
        File.WriteAllText(path, "hello\nworld\n");
        try
        {
            var error = Assert.Throws<InferenceException>(() => Prepare(Tokenizer(), vocabPath: path));

            Assert.Equal(InferenceErrorKind.Unavailable, error.Kind);
            Assert.Contains("the vocabulary 'vocab.txt' cannot be loaded", error.Message, StringComparison.Ordinal);
        }
        finally
        {
            File.Delete(path);
        }
    }

    [Fact]
    public void Create_FixedLengthModel_NeedsPadMaxLengthOfThatLength()
    {
        var fixedLength = new ModelSignature([.. Bert.Inputs.Select(input => input with { Shape = [-1, 128] })], Bert.Outputs);

        var error = Assert.Throws<InferenceException>(() => Prepare(Tokenizer(maxLength: 128), fixedLength));
        var run = Apply(Prepare(Tokenizer(maxLength: 128, pad: BertTokenizeStep.PadMaxLength), fixedLength), "hello");

        Assert.Equal(InferenceErrorKind.Unavailable, error.Kind);
        Assert.Contains("fixed length of 128", error.Message, StringComparison.Ordinal);
        Assert.Equal([1L, 128], run.Get("input_ids").Shape);
    }

    [Fact]
    public void Assets_NameTheVocabulary()
    {
        Assert.Equal(["vocab.txt"], Tokenizer().Assets);
        Assert.Equal(["text"], Tokenizer().Consumes);
        Assert.Equal(["input_ids", "attention_mask", "token_type_ids"], Tokenizer().Produces);
    }

    private static long[] Ids(string tokens) => [.. tokens.Split(' ').Select(token => Vocabulary.Value[token])];
}
