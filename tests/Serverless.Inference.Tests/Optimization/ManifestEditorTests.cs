using System.Text;
using System.Text.Json.Nodes;
using Serverless.Inference.Optimization;
using Serverless.Inference.Optimization.Variants;

namespace Serverless.Inference.Tests.Optimization;

public sealed class ManifestEditorTests
{
    [Fact]
    public void SetMembers_NewMember_IsAppendedAfterTheLastValueAndNothingElseMoves()
    {
        const string before = "{\n  // keep me\n  \"max_batch_size\": 4,\t\"warmup\": true\n}\n";

        var after = Edit(before, ("variants", _ => new JsonObject { ["2"] = new JsonObject { ["method"] = "fp16" } }));

        Assert.Equal(
            "{\n  // keep me\n  \"max_batch_size\": 4,\t\"warmup\": true,\n  \"variants\": {\n    \"2\": {\n      \"method\": \"fp16\"\n    }\n  }\n}\n",
            after);
    }

    [Fact]
    public void SetMembers_ExistingMember_ReplacesOnlyItsValueKeepingItsOtherEntries()
    {
        const string before = "{ \"aliases\": {\"stable\": \"1\"}, /* c */ \"max_batch_size\": 4, }";

        var after = Edit(before, ("aliases", current =>
        {
            current!["fast"] = "2";
            return current;
        }));

        Assert.Equal("{ \"aliases\": {\n    \"stable\": \"1\",\n    \"fast\": \"2\"\n  }, /* c */ \"max_batch_size\": 4, }", after);
    }

    [Fact]
    public void SetMembers_TrailingComma_StaysValid()
    {
        var after = Edit("{ \"warmup\": true, }", ("aliases", _ => new JsonObject { ["fast"] = "2" }));

        Assert.Equal("{ \"warmup\": true,\n  \"aliases\": {\n    \"fast\": \"2\"\n  }, }", after);
        Assert.Equal("2", ModelManifestOf(after).Aliases["fast"]);
    }

    [Fact]
    public void SetMembers_EmptyObject_GetsBothMembers()
    {
        var after = Edit("{}", ("variants", _ => new JsonObject()), ("aliases", _ => new JsonObject { ["fast"] = "2" }));

        Assert.Equal("{\n  \"variants\": {},\n  \"aliases\": {\n    \"fast\": \"2\"\n  }\n}", after);
        Assert.Equal("2", ModelManifestOf(after).Aliases["fast"]);
    }

    [Fact]
    public void SetMembers_NotAnObject_IsRefused()
    {
        Assert.Throws<OptimizationException>(() => Edit("[1]", ("aliases", _ => new JsonObject())));
    }

    private static string Edit(string json, params (string Name, Func<JsonNode?, JsonNode> Update)[] updates) =>
        Encoding.UTF8.GetString(ManifestEditor.SetMembers(Encoding.UTF8.GetBytes(json), updates));

    private static Serverless.Inference.Repository.ModelManifest ModelManifestOf(string json) =>
        Serverless.Inference.Repository.ModelManifest.Parse(Encoding.UTF8.GetBytes(json), "m/model.json");
}
