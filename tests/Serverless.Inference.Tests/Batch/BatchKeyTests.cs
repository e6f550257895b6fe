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
    [InlineData("failed/iris/x.csv", "'failed/iris/x.csv' is not incoming/<model>[/<version>]/<file>")]
    [InlineData("Incoming/iris/x.csv", "'Incoming/iris/x.csv' is not incoming/<model>[/<version>]/<file>")]
    [InlineData("incoming/../x.csv", "'incoming/../x.csv' is refused: the key has a '.' or '..' segment")]
    [InlineData("incoming/iris/./x.csv", "'incoming/iris/./x.csv' is refused: the key has a '.' or '..' segment")]
    [InlineData("incoming/iris//x.csv", "'incoming/iris//x.csv' is refused: the key has an empty segment (a leading, trailing or doubled '/')")]
    [InlineData("incoming/iris/x.csv/", "'incoming/iris/x.csv/' is refused: the key has an empty segment (a leading, trailing or doubled '/')")]
    [InlineData("/incoming/iris/x.csv", "'/incoming/iris/x.csv' is refused: the key has an empty segment (a leading, trailing or doubled '/')")]
    [InlineData("incoming/iris/x\\y.csv", "'incoming/iris/x\\y.csv' is refused: the key contains a backslash")]
    [InlineData("incoming/iris/x\ty.csv", "'incoming/iris/x?y.csv' is refused: the key contains a control character")]
    [InlineData("", "'' is refused: the key is empty")]
    [InlineData("incoming/Iris Model/x.csv", "'Iris Model' in 'incoming/Iris Model/x.csv' is not a model or version name: it must match [A-Za-z0-9][A-Za-z0-9._-]{0,63} and not contain '..'")]
    [InlineData("incoming/iris/my folder/x.csv", "'my folder' in 'incoming/iris/my folder/x.csv' is not a model or version name: it must match [A-Za-z0-9][A-Za-z0-9._-]{0,63} and not contain '..'")]
    [InlineData("incoming/%2e%2e/x.csv", "'%2e%2e' in 'incoming/%2e%2e/x.csv' is not a model or version name: it must match [A-Za-z0-9][A-Za-z0-9._-]{0,63} and not contain '..'")]
    public void TryParse_KeyOutsideTheLayoutOrKeyRule_NullWithTheReason(string text, string expected)
    {
        Assert.Null(BatchKey.TryParse(text, out var problem));
        Assert.Equal(expected, problem);
    }

    [Fact]
    public void TryParse_NulOrLoneSurrogate_Refused()
    {
        Assert.Null(BatchKey.TryParse("incoming/iris/x\0.csv", out var nul));
        Assert.Null(BatchKey.TryParse("incoming/iris/\ud800.csv", out var surrogate));

        Assert.Equal("'incoming/iris/x?.csv' is refused: the key contains a control character", nul);
        Assert.EndsWith("is refused: the key is not valid Unicode text", surrogate, StringComparison.Ordinal);
    }

    [Theory]
    [InlineData("my file+v2 é.csv")]
    [InlineData("Sales report 2026 (final)+v2 é.csv")]
    [InlineData("100% sure, (really).jsonl")]
    [InlineData(".hidden.csv")]
    [InlineData("a..b.csv")]
    [InlineData("-x.csv")]
    [InlineData("x;rm -rf.csv")]
    [InlineData("caf\u00e9.csv")]
    [InlineData("cafe\u0301.csv")]
    [InlineData("日本語.csv")]
    public void TryParse_FileNamesPeopleUse_AcceptedAndOutputKeysDeriveFromThemUnchanged(string name)
    {
        var key = BatchKey.TryParse($"incoming/iris/{name}", out var problem);

        Assert.Null(problem);
        Assert.Equal(name, key!.FileName);
        Assert.Equal($"outgoing/iris/{name}.r.results.csv", key.ResultsKey("r", BatchFormat.Csv));
        Assert.Equal($"failed/iris/{name}", key.FailedKey);
    }

    [Fact]
    public void TryParse_NfcAndNfdNames_TwoKeysWithTwoOutputs()
    {
        var nfc = BatchKey.TryParse("incoming/iris/caf\u00e9.csv", out _)!;
        var nfd = BatchKey.TryParse("incoming/iris/cafe\u0301.csv", out _)!;

        Assert.NotEqual(nfc.ResultsKey("r", BatchFormat.Csv), nfd.ResultsKey("r", BatchFormat.Csv));
    }

    [Fact]
    public void TryParse_FileNamesUpTo200Utf8Bytes_AreAccepted()
    {
        var name = new string('f', 196) + ".csv";
        var accented = new string('\u00e9', 98) + ".csv";

        Assert.Equal(name, BatchKey.TryParse($"incoming/iris/{name}", out _)!.FileName);
        Assert.Equal(accented, BatchKey.TryParse($"incoming/iris/{accented}", out _)!.FileName);
        Assert.Null(BatchKey.TryParse($"incoming/iris/f{name}", out var problem));
        Assert.Equal($"the file name in 'incoming/iris/f{name[..65]}...' is over 200 UTF-8 bytes", problem);
        Assert.Null(BatchKey.TryParse($"incoming/iris/\u00e9{accented}", out _));
    }

    [Fact]
    public void TryParse_KeyOf1024Bytes_Refused()
    {
        var key = "incoming/iris/" + new string('k', 1024 - 18) + ".csv";

        Assert.Null(BatchKey.TryParse(key, out var problem));
        Assert.EndsWith("is refused: the key is 1024 UTF-8 bytes long, over the limit of 960", problem, StringComparison.Ordinal);
    }

    [Theory]
    [InlineData("incoming/x.csv", "failed/_refused/{0}-x.csv")]
    [InlineData("incoming/Bad Model/my file é.csv", "failed/_refused/{0}-Bad%20Model%2Fmy%20file%20%C3%A9.csv")]
    [InlineData("incoming/a/../b.csv", "failed/_refused/{0}-a%2F..%2Fb.csv")]
    public void RefusedKey_HashAndEscapedRest_SafeUnderEveryRule(string key, string expected)
    {
        var refused = BatchKey.RefusedKey(key);

        Assert.Equal(string.Format(System.Globalization.CultureInfo.InvariantCulture, expected, BatchKey.Short(key)), refused);
        Assert.Null(BatchKeyRule.Problem(refused));
    }

    [Fact]
    public void RefusedKey_VeryLongKey_ShortenedAndStillDistinct()
    {
        var one = BatchKey.RefusedKey("incoming/" + new string('a', 2000) + "1");
        var two = BatchKey.RefusedKey("incoming/" + new string('a', 2000) + "2");

        Assert.NotEqual(one, two);
        Assert.True(one.Length < 160, one);
        Assert.Null(BatchKeyRule.Problem(one));
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
