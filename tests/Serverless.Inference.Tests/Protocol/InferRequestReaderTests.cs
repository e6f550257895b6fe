using System.Text;
using Serverless.Inference.Protocol;
using Serverless.Inference.Runtime;

namespace Serverless.Inference.Tests.Protocol;

/// <summary><see cref="InferRequestReader"/> on its own: what a request parses into, and sizes refused before anything is allocated.</summary>
public sealed class InferRequestReaderTests
{
    /// <summary>Far below any of the refused tensors, far above what reading a small header takes.</summary>
    private const long AllocationCeiling = 1 << 20;

    private static readonly RequestLimits Limits = new();

    [Fact]
    public void Read_FullRequest_KeepsEveryField()
    {
        const string Json = """
            {"id":"r-1","parameters":{"binary_data_output":true,"s":"a\"b","n":-1.5e3,"t":true},
             "inputs":[{"data":[[1,2],[3,4]],"name":"x","shape":[2,2],"datatype":"INT64"},
                       {"name":"w","datatype":"BYTES","shape":[1],"parameters":{"binary_data_size":6}}],
             "outputs":[{"name":"y","parameters":{"binary_data":false}},{"name":"z"}]}
            """;

        using var request = InferRequestReader.Read(Encoding.UTF8.GetBytes(Json), [2, 0, 0, 0, 0x68, 0x69], Limits);

        Assert.Equal("r-1", request.Id);
        Assert.True(request.BinaryOutputs);
        Assert.Equal(["s", "n", "t"], request.Parameters.Select(p => p.Name));
        Assert.Equal(["\"a\\\"b\"", "-1.5e3", "true"], request.Parameters.Select(p => Encoding.UTF8.GetString(p.RawJsonValue)));
        Assert.Equal([new RequestedOutput("y", false), new RequestedOutput("z", null)], request.Outputs);
        var x = request.Inputs[0];
        Assert.Equal(("x", TensorDataType.Int64), (x.Name, x.DataType));
        Assert.Equal([2L, 2L], x.Shape);
        Assert.Equal([1L, 2L, 3L, 4L], x.AsSpan<long>().ToArray());
        var w = request.Inputs[1];
        Assert.Equal(TensorDataType.Bytes, w.DataType);
        Assert.Equal("hi"u8.ToArray(), Assert.Single(w.Strings!));
    }

    [Theory]
    [InlineData("FP32", "[4294967296,4294967296]")]
    [InlineData("FP32", "[9223372036854775807,9223372036854775807]")]
    [InlineData("FP64", "[1073741824,4]")]
    [InlineData("FP32", "[100000000]")]
    [InlineData("BYTES", "[100000000]")]
    [InlineData("INT64", "[65536,65536]")]
    public void Read_HugeShapeWithJsonData_IsRefusedWithoutAllocating(string dataType, string shape)
    {
        var json = Encoding.UTF8.GetBytes($$"""{"inputs":[{"name":"x","datatype":"{{dataType}}","shape":{{shape}},"data":[1]}]}""");

        var allocated = AllocatedBy(() => InferRequestReader.Read(json, [], Limits));

        Assert.InRange(allocated, 0, AllocationCeiling);
    }

    [Theory]
    [InlineData("BYTES", "[1000000000]")]
    [InlineData("FP32", "[1000000000]")]
    [InlineData("UINT8", "[2000000000]")]
    public void Read_HugeShapeWithBinaryData_IsRefusedWithoutAllocating(string dataType, string shape)
    {
        var json = Encoding.UTF8.GetBytes($$$"""{"inputs":[{"name":"x","datatype":"{{{dataType}}}","shape":{{{shape}}},"parameters":{"binary_data_size":8}}]}""");

        var allocated = AllocatedBy(() => InferRequestReader.Read(json, new byte[8], Limits));

        Assert.InRange(allocated, 0, AllocationCeiling);
    }

    [Fact]
    public void Read_DepthBeyondLimit_IsRefusedAsMalformed()
    {
        var json = Encoding.UTF8.GetBytes($$"""{"inputs":[{"name":"x","datatype":"FP32","shape":[1],"data":{{new string('[', 40)}}1{{new string(']', 40)}}}]}""");

        var error = Assert.Throws<InferenceException>(() => InferRequestReader.Read(json, [], new RequestLimits { MaxJsonDepth = 32 }));

        Assert.Equal(InferenceErrorKind.BadRequest, error.Kind);
        Assert.StartsWith("malformed JSON", error.Message, StringComparison.Ordinal);
    }

    [Fact]
    public void Read_NestingWithinLimit_IsRead()
    {
        var json = Encoding.UTF8.GetBytes("""{"inputs":[{"name":"x","datatype":"FP32","shape":[1,1,1,1,1,1],"data":[[[[[[7]]]]]]}]}""");

        using var request = InferRequestReader.Read(json, [], Limits);

        Assert.Equal([7f], request.Inputs[0].AsSpan<float>().ToArray());
    }

    private static long AllocatedBy(Action read)
    {
        var before = GC.GetAllocatedBytesForCurrentThread();
        var error = Assert.Throws<InferenceException>(read);
        var allocated = GC.GetAllocatedBytesForCurrentThread() - before;
        Assert.Equal(InferenceErrorKind.BadRequest, error.Kind);
        return allocated;
    }
}
