using Serverless.Inference.Batch;

namespace Serverless.Inference.Tests.Batch;

public sealed class BatchKeyTests
{
    [Fact]
    public void TryParse_ModelAndFile_KeysForEveryFolder()
    {
        var key = BatchKey.TryParse("incoming/iris/day-1.csv", out var problem);

        Assert.Null(problem);
        Assert.Equal(new BatchKey("iris", null, "day-1.csv"), key);
        Assert.Equal("incoming/iris/day-1.csv", key!.IncomingKey);
        Assert.Equal("outgoing/iris/day-1.csv.0123abcd.results.csv", key.ResultsKey("0123abcd", BatchFormat.Csv));
        Assert.Equal("outgoing/iris/day-1.csv.0123abcd.results.jsonl", key.ResultsKey("0123abcd", BatchFormat.Jsonl));
        Assert.Equal("outgoing/iris/day-1.csv.0123abcd.summary.json", key.SummaryKey("0123abcd"));
        Assert.Equal("failed/iris/day-1.csv", key.FailedKey);
        Assert.Equal($"failed/iris/day-1.csv.{BatchKey.Short("sha256:abc")}.attempts", key.AttemptsKey("sha256:abc"));
    }

    [Fact]
    public void TryParse_ModelVersionAndFile_KeysKeepTheVersion()
    {
        var key = BatchKey.TryParse("incoming/iris/stable/day-1.jsonl", out var problem);

        Assert.Null(problem);
        Assert.Equal(new BatchKey("iris", "stable", "day-1.jsonl"), key);
        Assert.Equal("incoming/iris/stable/day-1.jsonl", key!.IncomingKey);
        Assert.Equal("outgoing/iris/stable/day-1.jsonl.r.results.jsonl", key.ResultsKey("r", BatchFormat.Jsonl));
        Assert.Equal("outgoing/iris/stable/day-1.jsonl.r.summary.json", key.SummaryKey("r"));
        Assert.Equal("failed/iris/stable/day-1.jsonl", key.FailedKey);
    }

    [Theory]
    [InlineData("incoming/x.csv", "'incoming/x.csv' is not incoming/<model>[/<version>]/<file>")]
    [InlineData("incoming/a/b/c/x.csv", "'incoming/a/b/c/x.csv' is not incoming/<model>[/<version>]/<file>")]
    [InlineData("outgoing/iris/x.csv", "'outgoing/iris/x.csv' is not incoming/<model>[/<version>]/<file>")]
    [InlineData("Incoming/iris/x.csv", "'Incoming/iris/x.csv' is not incoming/<model>[/<version>]/<file>")]
    [InlineData("incoming/../x.csv", "'..' in 'incoming/../x.csv' must match [A-Za-z0-9][A-Za-z0-9._-]{0,63} and not contain '..'")]
    [InlineData("incoming/iris/a..b.csv", "'a..b.csv' in 'incoming/iris/a..b.csv' must match [A-Za-z0-9][A-Za-z0-9._-]{0,63} and not contain '..'")]
    [InlineData("incoming/iris/a b.csv", "'a b.csv' in 'incoming/iris/a b.csv' must match [A-Za-z0-9][A-Za-z0-9._-]{0,63} and not contain '..'")]
    [InlineData("incoming/iris/%2e%2e/x.csv", "'%2e%2e' in 'incoming/iris/%2e%2e/x.csv' must match [A-Za-z0-9][A-Za-z0-9._-]{0,63} and not contain '..'")]
    [InlineData("incoming/iris/-x.csv", "'-x.csv' in 'incoming/iris/-x.csv' must match [A-Za-z0-9][A-Za-z0-9._-]{0,63} and not contain '..'")]
    [InlineData("incoming/iris/x\ty.csv", "'x?y.csv' in 'incoming/iris/x?y.csv' must match [A-Za-z0-9][A-Za-z0-9._-]{0,63} and not contain '..'")]
    public void TryParse_KeyOutsideTheLayoutOrNameRule_NullWithTheReason(string text, string expected)
    {
        Assert.Null(BatchKey.TryParse(text, out var problem));
        Assert.Equal(expected, problem);
    }

    [Fact]
    public void TryParse_FileNamesUpTo200Characters_AreAccepted()
    {
        var name = new string('f', 196) + ".csv";

        Assert.Equal(name, BatchKey.TryParse($"incoming/iris/{name}", out _)!.FileName);
        Assert.Null(BatchKey.TryParse($"incoming/iris/f{name}", out var problem));
        Assert.NotNull(problem);
    }

    [Fact]
    public void Short_SameText_SameTwelveHexCharacters()
    {
        var run = BatchKey.Short("sha256:aa\nsha256:bb");

        Assert.Matches("^[0-9a-f]{12}$", run);
        Assert.Equal(run, BatchKey.Short("sha256:aa\nsha256:bb"));
        Assert.NotEqual(run, BatchKey.Short("sha256:aa\nsha256:bc"));
    }

    [Theory]
    [InlineData("a.csv", BatchFormat.Csv)]
    [InlineData("a.CSV", BatchFormat.Csv)]
    [InlineData("a.jsonl", BatchFormat.Jsonl)]
    [InlineData("a.ndjson", BatchFormat.Jsonl)]
    [InlineData("a.json", BatchFormat.Jsonl)]
    [InlineData("a.JsonL", BatchFormat.Jsonl)]
    [InlineData("a.txt", null)]
    [InlineData("a", null)]
    [InlineData("a.csv.gz", null)]
    public void FromFileName_Extension_PicksTheFormat(string name, BatchFormat? expected) =>
        Assert.Equal(expected, BatchFormats.FromFileName(name));
}
