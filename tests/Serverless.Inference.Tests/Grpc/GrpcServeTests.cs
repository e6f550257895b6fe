using System.Runtime.InteropServices;
using System.Text;
using Google.Protobuf;
using Grpc.Core;
using Serverless.Inference.Grpc.V2;
using Serverless.Inference.Tests.Support;
using static Serverless.Inference.Grpc.V2.ModelInferRequest.Types;

namespace Serverless.Inference.Tests.Grpc;

/// <summary>The Open Inference Protocol over gRPC on the local host: the same answers and refusals as REST.</summary>
public sealed class GrpcServeTests(GrpcServeFixture fixture) : IClassFixture<GrpcServeFixture>
{
    private static readonly float[] Setosa = [5.1f, 3.5f, 1.4f, 0.2f];
    private const string IrisRest = """{"inputs":[{"name":"Features","shape":[1,4],"datatype":"FP32","data":[5.1,3.5,1.4,0.2]}],"parameters":{"binary_data_output":true}}""";

    private GRPCInferenceService.GRPCInferenceServiceClient Grpc => fixture.Grpc;

    private static CallOptions Options => new(deadline: DateTime.UtcNow + OipClient.HangGuard);

    [Fact]
    public async Task Health_And_ServerMetadata()
    {
        Assert.True((await Grpc.ServerLiveAsync(new ServerLiveRequest(), Options)).Live);
        Assert.True((await Grpc.ServerReadyAsync(new ServerReadyRequest(), Options)).Ready);
        Assert.True((await Grpc.ModelReadyAsync(new ModelReadyRequest { Name = "iris" }, Options)).Ready);
        Assert.True((await Grpc.ModelReadyAsync(new ModelReadyRequest { Name = "iris", Version = "1" }, Options)).Ready);

        var server = await Grpc.ServerMetadataAsync(new ServerMetadataRequest(), Options);
        var rest = (await fixture.Rest.GetAsync("/v2")).AssertOk();
        Assert.Equal(rest.Json.GetProperty("name").GetString(), server.Name);
        Assert.Equal(rest.Json.GetProperty("version").GetString(), server.Version);
    }

    [Theory]
    [InlineData("iris")]
    [InlineData("minilm")]
    public async Task ModelMetadata_MatchesRest(string model)
    {
        var metadata = await Grpc.ModelMetadataAsync(new ModelMetadataRequest { Name = model }, Options);
        var rest = (await fixture.Rest.GetAsync($"/v2/models/{model}")).AssertOk();

        Assert.Equal(model, metadata.Name);
        Assert.Equal(rest.Json.GetProperty("platform").GetString(), metadata.Platform);
        Assert.Equal(rest.Json.GetProperty("versions").EnumerateArray().Select(v => v.GetString()), metadata.Versions);
        Assert.Equal(Tensors(rest.Json.GetProperty("inputs")), metadata.Inputs.Select(t => $"{t.Name} {t.Datatype} [{string.Join(',', t.Shape)}]"));
        Assert.Equal(Tensors(rest.Json.GetProperty("outputs")), metadata.Outputs.Select(t => $"{t.Name} {t.Datatype} [{string.Join(',', t.Shape)}]"));
    }

    [Fact]
    public async Task Infer_Iris_TypedContents_SameBytesAsRest()
    {
        var request = Iris();
        request.Id = "req-7";
        request.Parameters["trace"] = new InferParameter { StringParam = "a\"b" };
        request.Parameters["flag"] = new InferParameter { BoolParam = true };
        request.Parameters["count"] = new InferParameter { Int64Param = -3 };
        request.Parameters["scale"] = new InferParameter { DoubleParam = 0.25 };
        request.Inputs[0].Contents = new InferTensorContents();
        request.Inputs[0].Contents.Fp32Contents.Add(Setosa);

        var response = await Grpc.ModelInferAsync(request, Options);

        Assert.Equal("iris", response.ModelName);
        Assert.Equal("1", response.ModelVersion);
        Assert.Equal("req-7", response.Id);
        Assert.Equal("a\"b", response.Parameters["trace"].StringParam);
        Assert.True(response.Parameters["flag"].BoolParam);
        Assert.Equal(-3, response.Parameters["count"].Int64Param);
        Assert.Equal(0.25, response.Parameters["scale"].DoubleParam);
        await AssertSameAsRestAsync(response);
        Assert.Equal("setosa", Label(response));
    }

    [Fact]
    public async Task Infer_Iris_RawContents_SameBytesAsRest()
    {
        var request = Iris();
        request.RawInputContents.Add(ByteString.CopyFrom(MemoryMarshal.AsBytes(Setosa.AsSpan())));

        var response = await Grpc.ModelInferAsync(request, Options);

        await AssertSameAsRestAsync(response);
    }

    [Fact]
    public async Task Infer_RequestedOutput_OnlyThatOne()
    {
        var request = Iris();
        request.RawInputContents.Add(ByteString.CopyFrom(MemoryMarshal.AsBytes(Setosa.AsSpan())));
        request.Outputs.Add(new InferRequestedOutputTensor { Name = "PredictedLabel.output" });

        var response = await Grpc.ModelInferAsync(request, Options);

        var output = Assert.Single(response.Outputs);
        Assert.Equal("PredictedLabel.output", output.Name);
        Assert.Equal("BYTES", output.Datatype);
        Assert.Equal("setosa", Label(response));
    }

    [Fact]
    public async Task Infer_MiniLm_BytesInput_TypedAndRaw_SameAsRest()
    {
        string[] texts = ["a cat sits on the mat", "gRPC and REST agree"];
        var typed = new ModelInferRequest { ModelName = "minilm" };
        typed.Inputs.Add(new InferInputTensor { Name = "text", Datatype = "BYTES", Shape = { 2 }, Contents = new InferTensorContents() });
        typed.Inputs[0].Contents.BytesContents.Add(texts.Select(ByteString.CopyFromUtf8));
        var raw = new ModelInferRequest { ModelName = "minilm" };
        raw.Inputs.Add(new InferInputTensor { Name = "text", Datatype = "BYTES", Shape = { 2 } });
        raw.RawInputContents.Add(ByteString.CopyFrom(OipClient.LengthPrefixed(texts)));

        var fromTyped = await Grpc.ModelInferAsync(typed, Options);
        var fromRaw = await Grpc.ModelInferAsync(raw, Options);
        var rest = (await fixture.Rest.InferAsync("minilm", """{"inputs":[{"name":"text","datatype":"BYTES","shape":[2],"data":["a cat sits on the mat","gRPC and REST agree"]}],"parameters":{"binary_data_output":true}}""")).AssertOk();

        var output = Assert.Single(fromTyped.Outputs);
        Assert.Equal("embedding", output.Name);
        Assert.Equal([2L, 384L], output.Shape);
        Assert.Equal(fromTyped.RawOutputContents[0].ToByteArray(), fromRaw.RawOutputContents[0].ToByteArray());
        Assert.Equal(rest.BinaryOutput("embedding"), fromTyped.RawOutputContents[0].ToByteArray());
    }

    public static TheoryData<string, string> BadRequests => new()
    {
        { "wrong-shape", "input 'Features' has 4 elements in fp32_contents but its shape [1,5] needs 5" },
        { "unknown-datatype", "input 'Features' has an unknown datatype 'FP8'" },
        { "raw-size", "input 'Features' has raw_input_contents size 12 but shape [1,4] of FP32 needs 16 bytes" },
        { "raw-and-typed", "input 'Features' has both 'contents' and raw_input_contents" },
        { "wrong-field", "input 'Features' is FP32, whose elements go in fp32_contents, not int64_contents" },
        { "raw-count", "raw_input_contents has 2 entries but the request has 1 inputs" },
        { "no-inputs", "the request has no 'inputs'" },
        { "negative-dimension", "input 'Features' has a negative dimension in shape [-1,4]" },
        { "invalid-name", "invalid model name '..': it must match" },
        { "bytes-overrun", "input 'Features' element 0 claims 100 bytes but only 0 remain" },
        { "int8-range", "input 'Features' element 0 (300) is not a valid INT8 value" },
        { "fp16-typed", "input 'Features' is FP16, which has no typed contents; send it in raw_input_contents" },
        { "no-data", "input 'Features' has neither 'contents' nor raw_input_contents" },
        { "classification", "the classification extension is not supported" },
    };

    [Theory]
    [MemberData(nameof(BadRequests))]
    public async Task Infer_BadRequest_InvalidArgument_AndStillServes(string problem, string message)
    {
        var request = Bad(problem);

        var error = await Assert.ThrowsAsync<RpcException>(() => Grpc.ModelInferAsync(request, Options).ResponseAsync);

        Assert.Equal(StatusCode.InvalidArgument, error.StatusCode);
        Assert.Contains(message, error.Status.Detail, StringComparison.Ordinal);
        await AssertStillServesAsync();
    }

    [Fact]
    public async Task Infer_UnknownDatatype_SameMessageAsRest()
    {
        var error = await Assert.ThrowsAsync<RpcException>(() => Grpc.ModelInferAsync(Bad("unknown-datatype"), Options).ResponseAsync);
        var rest = await fixture.Rest.InferAsync("iris", """{"inputs":[{"name":"Features","shape":[1,4],"datatype":"FP8","data":[5.1,3.5,1.4,0.2]}]}""");

        Assert.Equal(rest.AssertError(400).Error, error.Status.Detail);
    }

    [Fact]
    public async Task Infer_UnknownModel_NotFound()
    {
        var request = Iris();
        request.ModelName = "no-such-model";
        request.RawInputContents.Add(ByteString.CopyFrom(MemoryMarshal.AsBytes(Setosa.AsSpan())));

        var error = await Assert.ThrowsAsync<RpcException>(() => Grpc.ModelInferAsync(request, Options).ResponseAsync);
        var ready = await Assert.ThrowsAsync<RpcException>(() => Grpc.ModelReadyAsync(new ModelReadyRequest { Name = "no-such-model" }, Options).ResponseAsync);
        var rest = await fixture.Rest.InferAsync("no-such-model", """{"inputs":[{"name":"Features","shape":[1,4],"datatype":"FP32","data":[5.1,3.5,1.4,0.2]}]}""");

        Assert.Equal(StatusCode.NotFound, error.StatusCode);
        Assert.Equal(StatusCode.NotFound, ready.StatusCode);
        Assert.Equal(rest.AssertError(404).Error, error.Status.Detail);
    }

    [Fact]
    public async Task Infer_OverSizeLimit_ResourceExhausted_AndStillServes()
    {
        var request = Iris();
        request.Inputs[0].Shape.Clear();
        request.Inputs[0].Shape.Add([GrpcServeFixture.MaxRequestBytes / 16, 4]);
        request.RawInputContents.Add(ByteString.CopyFrom(new byte[GrpcServeFixture.MaxRequestBytes]));

        var error = await Assert.ThrowsAsync<RpcException>(() => Grpc.ModelInferAsync(request, Options).ResponseAsync);

        Assert.Equal(StatusCode.ResourceExhausted, error.StatusCode);
        await AssertStillServesAsync();
    }

    [Fact]
    public async Task Infer_PastDeadline_DeadlineExceeded()
    {
        var request = Iris();
        request.RawInputContents.Add(ByteString.CopyFrom(MemoryMarshal.AsBytes(Setosa.AsSpan())));

        var error = await Assert.ThrowsAsync<RpcException>(() => Grpc.ModelInferAsync(request, deadline: DateTime.UtcNow.AddMilliseconds(-1)).ResponseAsync);

        Assert.Equal(StatusCode.DeadlineExceeded, error.StatusCode);
        await AssertStillServesAsync();
    }

    private static ModelInferRequest Iris()
    {
        var request = new ModelInferRequest { ModelName = "iris" };
        request.Inputs.Add(new InferInputTensor { Name = "Features", Datatype = "FP32", Shape = { 1, 4 } });
        return request;
    }

    private static ModelInferRequest Bad(string problem)
    {
        var request = Iris();
        var input = request.Inputs[0];
        var setosa = ByteString.CopyFrom(MemoryMarshal.AsBytes(Setosa.AsSpan()));
        switch (problem)
        {
            case "wrong-shape":
                input.Shape[1] = 5;
                input.Contents = new InferTensorContents { Fp32Contents = { Setosa } };
                break;
            case "unknown-datatype":
                input.Datatype = "FP8";
                input.Contents = new InferTensorContents { Fp32Contents = { Setosa } };
                break;
            case "raw-size":
                request.RawInputContents.Add(ByteString.CopyFrom(new byte[12]));
                break;
            case "raw-and-typed":
                input.Contents = new InferTensorContents { Fp32Contents = { Setosa } };
                request.RawInputContents.Add(setosa);
                break;
            case "wrong-field":
                input.Contents = new InferTensorContents { Int64Contents = { 5, 3, 1, 0 } };
                break;
            case "raw-count":
                request.RawInputContents.Add(setosa);
                request.RawInputContents.Add(setosa);
                break;
            case "no-inputs":
                request.Inputs.Clear();
                break;
            case "negative-dimension":
                input.Shape[0] = -1;
                request.RawInputContents.Add(setosa);
                break;
            case "invalid-name":
                request.ModelName = "..";
                request.RawInputContents.Add(setosa);
                break;
            case "bytes-overrun":
                input.Datatype = "BYTES";
                input.Shape.Clear();
                input.Shape.Add(1);
                request.RawInputContents.Add(ByteString.CopyFrom(100, 0, 0, 0));
                break;
            case "int8-range":
                input.Datatype = "INT8";
                input.Contents = new InferTensorContents { IntContents = { 300, 1, 2, 3 } };
                break;
            case "fp16-typed":
                input.Datatype = "FP16";
                input.Contents = new InferTensorContents { Fp32Contents = { Setosa } };
                break;
            case "no-data":
                break;
            case "classification":
                request.RawInputContents.Add(setosa);
                request.Outputs.Add(new InferRequestedOutputTensor { Name = "Score.output", Parameters = { ["classification"] = new InferParameter { Int64Param = 2 } } });
                break;
            default:
                throw new ArgumentOutOfRangeException(nameof(problem));
        }

        return request;
    }

    /// <summary>gRPC's raw outputs are byte for byte REST's binary outputs for the same input.</summary>
    private async Task AssertSameAsRestAsync(ModelInferResponse response)
    {
        var rest = (await fixture.Rest.InferAsync("iris", IrisRest)).AssertOk();
        Assert.Equal(rest.OutputNames, response.Outputs.Select(o => o.Name));
        for (var i = 0; i < response.Outputs.Count; i++)
        {
            var output = response.Outputs[i];
            Assert.Equal(rest.Output(output.Name).GetProperty("datatype").GetString(), output.Datatype);
            Assert.Equal(rest.Shape(output.Name), output.Shape);
            Assert.Equal(rest.BinaryOutput(output.Name), response.RawOutputContents[i].ToByteArray());
        }
    }

    private async Task AssertStillServesAsync()
    {
        var request = Iris();
        request.RawInputContents.Add(ByteString.CopyFrom(MemoryMarshal.AsBytes(Setosa.AsSpan())));
        Assert.Equal("setosa", Label(await Grpc.ModelInferAsync(request, Options)));
    }

    /// <summary>The first element of the BYTES output PredictedLabel.output, from its length-prefixed raw contents.</summary>
    private static string Label(ModelInferResponse response)
    {
        var index = response.Outputs.Select(o => o.Name).ToList().IndexOf("PredictedLabel.output");
        var raw = response.RawOutputContents[index].Span;
        var length = (int)System.Buffers.Binary.BinaryPrimitives.ReadUInt32LittleEndian(raw);
        return Encoding.UTF8.GetString(raw.Slice(4, length));
    }

    private static IEnumerable<string> Tensors(System.Text.Json.JsonElement tensors) =>
        tensors.EnumerateArray().Select(t =>
            $"{t.GetProperty("name").GetString()} {t.GetProperty("datatype").GetString()} [{string.Join(',', t.GetProperty("shape").EnumerateArray().Select(d => d.GetInt64()))}]");
}
