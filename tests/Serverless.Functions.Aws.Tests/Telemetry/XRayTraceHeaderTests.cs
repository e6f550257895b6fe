using System.Diagnostics;
using Serverless.Functions.Aws.Telemetry;

namespace Serverless.Functions.Aws.Tests.Telemetry;

public sealed class XRayTraceHeaderTests
{
    [Fact]
    public void TryParse_LambdaHeader_ContinuesRootAndParentAsW3CContext()
    {
        var header = XRayTraceHeader.TryParse("Root=1-5759e988-bd862e3fe1be46a994272793;Parent=53995c3f42cd8ad8;Sampled=1");

        Assert.NotNull(header);
        Assert.Equal("1-5759e988-bd862e3fe1be46a994272793", header.Root);
        var parent = Assert.NotNull(header.ParentContext);
        Assert.Equal("5759e988bd862e3fe1be46a994272793", parent.TraceId.ToHexString());
        Assert.Equal("53995c3f42cd8ad8", parent.SpanId.ToHexString());
        Assert.Equal(ActivityTraceFlags.Recorded, parent.TraceFlags);
        Assert.True(parent.IsRemote);
    }

    [Theory]
    [InlineData("Root=1-5759E988-BD862E3FE1BE46A994272793;Parent=53995C3F42CD8AD8;Sampled=0;Lineage=a87bd80c:1", "53995c3f42cd8ad8", false)]
    [InlineData("Sampled=1; Parent=53995c3f42cd8ad8 ;Root=1-5759e988-bd862e3fe1be46a994272793", "53995c3f42cd8ad8", true)]
    [InlineData("Root=1-5759e988-bd862e3fe1be46a994272793;Sampled=?", null, false)]
    [InlineData("Root=1-5759e988-bd862e3fe1be46a994272793;Parent=xyz;Sampled=1", null, true)]
    [InlineData("Root=1-5759e988-bd862e3fe1be46a994272793;Parent=0000000000000000;Sampled=1", null, true)]
    public void TryParse_OtherShapes_KeepsTheTraceAndOnlyAUsableParent(string text, string? parentSpan, bool sampled)
    {
        var header = XRayTraceHeader.TryParse(text);

        Assert.NotNull(header);
        Assert.Equal("5759e988bd862e3fe1be46a994272793", header.TraceId.ToHexString());
        Assert.Equal(parentSpan, header.Parent?.ToHexString());
        Assert.Equal(sampled, header.Sampled);
        Assert.Equal(parentSpan is null, header.ParentContext is null);
    }

    [Theory]
    [InlineData(null)]
    [InlineData("")]
    [InlineData("Parent=53995c3f42cd8ad8;Sampled=1")]
    [InlineData("Root=2-5759e988-bd862e3fe1be46a994272793;Parent=53995c3f42cd8ad8")]
    [InlineData("Root=1-5759e988-bd862e3fe1be46a99427279;Parent=53995c3f42cd8ad8")]
    [InlineData("Root=1-5759e988xbd862e3fe1be46a994272793")]
    [InlineData("Root=1-5759e98g-bd862e3fe1be46a994272793")]
    [InlineData("Root=1-00000000-000000000000000000000000;Parent=53995c3f42cd8ad8")]
    [InlineData("Root=abc;Parent=def;Sampled=1")]
    public void TryParse_NoUsableRoot_IsNull(string? text) => Assert.Null(XRayTraceHeader.TryParse(text));
}
