using System.Text;

namespace Serverless.Inference.Tests.Optimization.Support;

/// <summary>
/// English-like sentences of 5 to 60 words built from word lists with a seeded generator: the same seed gives the
/// same sentences on every machine, so accuracy figures of a variant can be compared run to run.
/// Shared with the optimize-minilm benchmark.
/// </summary>
internal static class GeneratedSentences
{
    private const int MinWords = 5;
    private const int MaxWords = 60;

    private static readonly string[] Subjects =
    [
        "the engineer", "a small team", "our customer", "the new model", "my neighbour", "the city council", "a tired student",
        "the serverless function", "the old library", "every morning train", "the weather service", "a curious child",
        "the support desk", "the orchestra", "the database", "a local bakery", "the research group", "the pilot",
    ];

    private static readonly string[] Verbs =
    [
        "reviewed", "ignored", "rebuilt", "announced", "measured", "delivered", "questioned", "painted", "deployed",
        "cancelled", "translated", "repaired", "celebrated", "compressed", "scheduled", "described", "tested", "sold",
    ];

    private static readonly string[] Objects =
    [
        "the quarterly report", "a fresh loaf of bread", "the broken bicycle", "three noisy servers", "the river bridge",
        "an unusual request", "the embedding cache", "a quiet piano sonata", "the winter timetable", "the garden fence",
        "a long list of invoices", "the mountain trail", "the latency budget", "a handwritten letter", "the storm warning",
    ];

    private static readonly string[] Phrases =
    [
        "before the meeting started", "after a long and rainy weekend", "with surprising patience", "in the middle of the night",
        "because nobody else would", "while the coffee was still warm", "without telling anyone", "near the old harbour",
        "during the busiest week of the year", "for the second time", "as the sun went down over the hills",
        "although the instructions were unclear", "on a crowded Tuesday afternoon", "so that the others could rest",
    ];

    private static readonly string[] Joins = ["and then", "but later", "so", "while", "because", "even though", "and"];

    public static IReadOnlyList<string> Create(int count, int seed)
    {
        var random = new Random(seed);
        var sentences = new string[count];
        for (var i = 0; i < count; i++)
        {
            sentences[i] = Sentence(random, random.Next(MinWords, MaxWords + 1));
        }

        return sentences;
    }

    private static string Sentence(Random random, int targetWords)
    {
        var words = new List<string>();
        Append(words, Pick(random, Subjects));
        Append(words, Pick(random, Verbs));
        Append(words, Pick(random, Objects));
        while (words.Count < targetWords)
        {
            Append(words, random.Next(3) == 0
                ? $"{Pick(random, Joins)} {Pick(random, Subjects)} {Pick(random, Verbs)} {Pick(random, Objects)}"
                : Pick(random, Phrases));
        }

        var text = new StringBuilder(string.Join(' ', words.Take(targetWords))).Append('.');
        text[0] = char.ToUpperInvariant(text[0]);
        return text.ToString();
    }

    private static void Append(List<string> words, string phrase) => words.AddRange(phrase.Split(' '));

    private static string Pick(Random random, string[] choices) => choices[random.Next(choices.Length)];
}
