using System.Buffers;
using System.Globalization;
using System.Text;
using System.Text.Unicode;
using FastBertTokenizer;
using Serverless.Inference.Runtime;

namespace Serverless.Inference.Pipelines.Steps;

/// <summary>
/// <c>{"type": "bert_tokenize", "input": "text", "vocab": "vocab.txt", "max_length": 256}</c>: BERT WordPiece
/// tokenization (FastBertTokenizer) of a BYTES tensor of UTF-8 texts, shape [N] or [N, 1], into int64 [N, L]
/// tensors: input ids ([CLS] word pieces [SEP], then [PAD]), the attention mask (1 on tokens, 0 on padding) and
/// token type ids (all 0: one sequence per text).
/// <para>
/// An empty (or whitespace-only) text is refused (400, naming the element): BERT tokenizers would encode it as
/// [CLS] [SEP], whose embedding or label means nothing, and a caller who sends one has lost their text. A text that
/// is not valid UTF-8 is the caller's mistake too. A text longer than <see cref="MaxLength"/>
/// tokens is cut to its first word pieces and still ends with [SEP]; the response then carries the parameter
/// <c>truncated_texts</c>: how many of the request's texts were cut.
/// </para>
/// <para>
/// Accents are stripped here (<see cref="BertAccents"/>) rather than by the tokenizer, which relies on ICU normalization
/// that invariant-globalization processes lack. Known differences from BERT's reference tokenizer: a word of over
/// 100 characters becomes word pieces rather than one [UNK], and a literal "[SEP]" (or another special token) in a
/// text becomes [UNK] rather than the special token's id.
/// </para>
/// </summary>
/// <param name="Input">The BYTES tensor of texts.</param>
/// <param name="Vocab">The vocabulary file in the model's version folder (vocab.txt: one token a line, its id the line number).</param>
/// <param name="Lowercase">For uncased vocabularies (the default): lowercase and strip accents, as BERT uncased does. False for cased ones.</param>
/// <param name="MaxLength">The most tokens one text becomes, [CLS] and [SEP] included; at most the model's position limit (512 for BERT).</param>
/// <param name="Pad">"longest" (the default): L is the longest text of the request; "max_length": L is always <see cref="MaxLength"/>.</param>
/// <param name="InputIds">The name of the token ids tensor produced.</param>
/// <param name="AttentionMask">The name of the attention mask tensor produced.</param>
/// <param name="TokenTypeIds">The name of the token type ids tensor produced.</param>
internal sealed record BertTokenizeStep(
    string Input,
    string Vocab,
    bool Lowercase = true,
    int MaxLength = 512,
    string Pad = BertTokenizeStep.PadLongest,
    string InputIds = "input_ids",
    string AttentionMask = "attention_mask",
    string TokenTypeIds = "token_type_ids") : PipelineStep
{
    public const string PadLongest = "longest";

    public const string PadMaxLength = "max_length";

    /// <summary>The response parameter that counts the texts cut to <see cref="MaxLength"/> tokens; absent when none was.</summary>
    public const string TruncatedParameter = "truncated_texts";

    /// <summary>The largest <see cref="MaxLength"/> accepted: far past any BERT's position limit.</summary>
    public const int MaxLengthLimit = 1 << 16;

    public override IReadOnlyList<string> Consumes => [Input];

    public override IReadOnlyList<string> Produces => [InputIds, AttentionMask, TokenTypeIds];

    public override IReadOnlyList<string> Assets => string.IsNullOrEmpty(Vocab) ? [] : [Vocab];

    internal override IPipelineOperation Create(PipelineBuildContext context)
    {
        if (string.IsNullOrEmpty(Input) || string.IsNullOrEmpty(Vocab))
        {
            throw Unavailable("'input' (the BYTES tensor of texts) and 'vocab' (the vocabulary file) are required");
        }

        if (MaxLength is < 2 or > MaxLengthLimit)
        {
            throw Unavailable($"max_length must be between 2 ([CLS] and [SEP]) and {MaxLengthLimit}, not {MaxLength}");
        }

        if (Pad is not (PadLongest or PadMaxLength))
        {
            throw Unavailable($"pad must be \"{PadLongest}\" or \"{PadMaxLength}\", not \"{Pad}\"");
        }

        // A model with a fixed sequence length takes exactly that many tokens, whatever the texts.
        if (context.Model.FindInput(InputIds) is { Shape: [_, > 0 and var fixedLength] } && (Pad != PadMaxLength || MaxLength != fixedLength))
        {
            throw Unavailable($"the model's '{InputIds}' has a fixed length of {fixedLength}: set \"pad\": \"{PadMaxLength}\" and \"max_length\": {fixedLength}");
        }

        if (!context.AssetPaths.TryGetValue(Vocab, out var path))
        {
            throw Unavailable($"the vocabulary '{Vocab}' was not found");
        }

        var tokenizer = new BertTokenizer();
        try
        {
            using var reader = File.OpenText(path);
            tokenizer.LoadVocabulary(reader, Lowercase);
        }
        catch (Exception e) when (e is IOException or InvalidOperationException or UnauthorizedAccessException)
        {
            throw Unavailable($"the vocabulary '{Vocab}' cannot be loaded: {e.Message}");
        }

        // An empty text padded to 3 is [CLS] [SEP] [PAD]: the ids a cut text ends with and padding is made of.
        Span<long> probe = stackalloc long[3];
        Span<long> probeMask = stackalloc long[3];
        tokenizer.Encode(string.Empty, probe, probeMask, padTo: 3);
        return new Operation(this, tokenizer, separator: probe[1], padding: probe[2]);
    }

    private static InferenceException Unavailable(string problem) => new(InferenceErrorKind.Unavailable, $"bert_tokenize: {problem}");

    /// <remarks>
    /// One tokenizer serves every request at once: the <c>Encode</c> overload that writes into the caller's spans
    /// only reads the loaded vocabulary. (The overloads that return memory or encode a batch in parallel keep
    /// buffers in the instance; they are never called here.)
    /// </remarks>
    private sealed class Operation(BertTokenizeStep step, BertTokenizer tokenizer, long separator, long padding) : IPipelineOperation
    {
        /// <summary>
        /// Room past <see cref="MaxLength"/>, so the word that crosses the limit is tokenized whole before it is cut:
        /// the tokenizer stops a word where its buffer ends, and a word stopped early keeps its first pieces even
        /// where, read to the end, it has none and is [UNK]. BERT's words have at most 100 characters, so 100 pieces.
        /// </summary>
        private const int WordSlack = 100;

        public void Apply(PipelineRun run)
        {
            var input = run.Get(step.Input);
            if (input.DataType != TensorDataType.Bytes)
            {
                throw new InferenceException(InferenceErrorKind.Internal, $"bert_tokenize needs a BYTES tensor of texts, not '{input.Name}' {input.DataType.ToProtocolName()}");
            }

            if (input.Shape is not ([_] or [_, 1]))
            {
                throw InferenceException.BadRequest(
                    $"input '{input.Name}' holds one text per row: shape [N] or [N, 1], not [{string.Join(',', input.Shape)}]");
            }

            var rows = (int)input.Shape[0];
            var maxLength = step.MaxLength;
            var room = maxLength + WordSlack;
            var ends = new int[rows];
            var tokens = ArrayPool<long>.Shared.Rent(64 + (Math.Min(rows, 1 << 16) * 16));
            var scratch = ArrayPool<long>.Shared.Rent(room);
            var scratchMask = ArrayPool<long>.Shared.Rent(room);
            try
            {
                var written = 0;
                var longest = 0;
                List<int>? truncated = null;
                for (var row = 0; row < rows; row++)
                {
                    run.CancellationToken.ThrowIfCancellationRequested();
                    var text = Decode(input, row);
                    var count = tokenizer.Encode(text, scratch.AsSpan(0, room), scratchMask.AsSpan(0, room), padTo: null);
                    if (count > maxLength)
                    {
                        // The first word pieces that fit, then [SEP]: what BERT's truncation to max_length gives.
                        (truncated ??= []).Add(row);
                        count = maxLength;
                        scratch[count - 1] = separator;
                    }

                    if (written + count > tokens.Length)
                    {
                        var larger = ArrayPool<long>.Shared.Rent(Math.Max(tokens.Length * 2, written + count));
                        tokens.AsSpan(0, written).CopyTo(larger);
                        ArrayPool<long>.Shared.Return(tokens);
                        tokens = larger;
                    }

                    scratch.AsSpan(0, count).CopyTo(tokens.AsSpan(written));
                    written += count;
                    ends[row] = written;
                    longest = Math.Max(longest, count);
                }

                // Every text is at least [CLS] [SEP]; an empty request gets that width too, rather than tensors the model cannot run.
                var width = step.Pad == PadMaxLength ? maxLength : Math.Max(longest, 2);
                var ids = PipelineTensor.Numbers(step.InputIds, TensorDataType.Int64, [rows, width]);
                var mask = PipelineTensor.Numbers(step.AttentionMask, TensorDataType.Int64, [rows, width]);
                var idValues = ids.AsSpan<long>();
                var maskValues = mask.AsSpan<long>();
                idValues.Fill(padding);
                for (var row = 0; row < rows; row++)
                {
                    var start = row == 0 ? 0 : ends[row - 1];
                    var count = ends[row] - start;
                    tokens.AsSpan(start, count).CopyTo(idValues.Slice(row * width, width));
                    maskValues.Slice(row * width, count).Fill(1);
                }

                run.Set(ids);
                run.Set(mask);
                run.Set(PipelineTensor.Numbers(step.TokenTypeIds, TensorDataType.Int64, [rows, width]));
                if (truncated is not null)
                {
                    run.CountRows(TruncatedParameter, truncated);
                }
            }
            finally
            {
                ArrayPool<long>.Shared.Return(tokens);
                ArrayPool<long>.Shared.Return(scratch);
                ArrayPool<long>.Shared.Return(scratchMask);
            }
        }

        private string Decode(PipelineTensor input, int row)
        {
            var bytes = input.Strings![row];
            if (!Utf8.IsValid(bytes))
            {
                throw InferenceException.BadRequest($"input '{input.Name}' element {row} is not valid UTF-8 text");
            }

            var text = Encoding.UTF8.GetString(bytes);
            if (string.IsNullOrWhiteSpace(text))
            {
                throw InferenceException.BadRequest($"input '{input.Name}' element {row} is empty: there is no text to encode");
            }

            return step.Lowercase ? BertAccents.Strip(text) : text;
        }
    }
}
