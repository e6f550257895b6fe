using System.Net.Http.Headers;
using System.Text;
using Serverless.Inference.Protocol;
using Serverless.Inference.Tests.Support;

namespace Serverless.Inference.Tests.Protocol;

/// <summary>
/// Bad inference requests over HTTP: each is a 4xx with a JSON error that names the problem, never a 500,
/// and the server keeps answering afterwards.
/// </summary>
public sealed class InferRequestValidationTests(OipServerFixture fixture) : IClassFixture<OipServerFixture>
{
    private const string Fp32 = "identity-fp32";

    private readonly OipClient _client = fixture.Client;

    /// <summary>Model, request body, and a fragment the 400's error message must contain.</summary>
    public static TheoryData<string, string, string> BadRequests => new()
    {
        // Not JSON, or not the right JSON.
        { Fp32, """{"inputs": [""", "malformed JSON" },
        { Fp32, """{"inputs":[{"name":"x",}]}""", "malformed JSON" },
        { Fp32, """{"inputs":[{"name":"x","datatype":"FP32","shape":[1],"data":[1]}]} {}""", "malformed JSON" },
        { Fp32, """{"inputs":[{"name":"x","datatype":"FP32","shape":[1],"data":[1]}]""", "malformed JSON" },
        { Fp32, "", "JSON" },
        { Fp32, "   ", "JSON" },
        { Fp32, "[1,2]", "the request body must be a JSON object" },
        { Fp32, "\"text\"", "the request body must be a JSON object" },
        { Fp32, "null", "the request body must be a JSON object" },
        { Fp32, "42", "the request body must be a JSON object" },
        { Fp32, "{}", "the request has no 'inputs'" },
        { Fp32, """{"id":"only"}""", "the request has no 'inputs'" },
        { Fp32, """{"inputs":[]}""", "the request has no 'inputs'" },
        { Fp32, """{"inputs":{}}""", "'inputs' must be an array" },
        { Fp32, """{"inputs":[1]}""", "each input must be a JSON object" },
        { Fp32, """{"id":5,"inputs":[{"name":"x","datatype":"FP32","shape":[1],"data":[1]}]}""", "'id' must be a string" },

        // Datatypes.
        { Fp32, Input("\"FLOAT32\"", "[1]", "[1]"), "unknown datatype 'FLOAT32' (known: BOOL, INT8" },
        { Fp32, Input("\"fp32\"", "[1]", "[1]"), "unknown datatype 'fp32'" },
        { Fp32, Input("\"\"", "[1]", "[1]"), "unknown datatype ''" },
        { Fp32, Input("5", "[1]", "[1]"), "an input's 'datatype' must be a string" },
        { Fp32, """{"inputs":[{"name":"x","shape":[1],"data":[1]}]}""", "input 'x' has no 'datatype'" },

        // Shapes and element counts.
        { Fp32, """{"inputs":[{"name":"x","datatype":"FP32","data":[1]}]}""", "input 'x' has no 'shape'" },
        { Fp32, Input("\"FP32\"", "\"3\"", "[1,2,3]"), "'shape' must be an array of integers" },
        { Fp32, Input("\"FP32\"", "[1.5]", "[1]"), "'shape' must be an array of integers" },
        { Fp32, Input("\"FP32\"", "[\"1\"]", "[1]"), "'shape' must be an array of integers" },
        { Fp32, Input("\"FP32\"", "[1,1,1,1,1,1,1,1,1,1,1,1,1,1,1,1,1]", "[1]"), "'shape' has more than 16 dimensions" },
        { Fp32, Input("\"FP32\"", "[3]", "[1,2]"), "input 'x' has 2 data elements but its shape needs 3" },
        { Fp32, Input("\"FP32\"", "[3]", "[]"), "input 'x' has 0 data elements but its shape needs 3" },
        { Fp32, Input("\"FP32\"", "[3]", "[1,2,3,4]"), "input 'x' has more data elements than its shape's 3" },
        { Fp32, Input("\"FP32\"", "[2]", "[[1,2],[3]]"), "input 'x' has more data elements than its shape's 2" },
        { Fp32, Input("\"FP32\"", "[4294967296,4294967296]", "[1]"), "input 'x' has shape [4294967296,4294967296], too many elements" },
        { Fp32, Input("\"FP32\"", "[9223372036854775807,2]", "[1]"), "too many elements" },
        { Fp32, Input("\"FP32\"", "[2147483648]", "[1]"), "too many elements" },
        { Fp32, Input("\"FP32\"", "[100000000]", "[1]"), "(100000000 elements), more than the request could hold" },
        { Fp32, Input("\"FP32\"", "[-1]", "[1]"), "input 'x' has a negative dimension in shape [-1]" },
        { Fp32, Input("\"FP32\"", "[2,-3]", "[1]"), "negative dimension in shape [2,-3]" },

        // Names.
        { Fp32, """{"inputs":[{"datatype":"FP32","shape":[1],"data":[1]}]}""", "an input has no 'name'" },
        { Fp32, """{"inputs":[{"name":"","datatype":"FP32","shape":[1],"data":[1]}]}""", "an input has no 'name'" },
        { Fp32, """{"inputs":[{"name":7,"datatype":"FP32","shape":[1],"data":[1]}]}""", "an input's 'name' must be a string" },
        { Fp32, """{"inputs":[{"name":"z","datatype":"FP32","shape":[1],"data":[1]}]}""", "unknown input 'z'; the model's inputs are x" },
        { Fp32, """{"inputs":[{"name":"x","datatype":"FP32","shape":[1],"data":[1]},{"name":"x","datatype":"FP32","shape":[1],"data":[2]}]}""", "input 'x' is given more than once" },
        { ProtocolModels.AddFloat, """{"inputs":[{"name":"a","datatype":"FP32","shape":[1,3],"data":[1,2,3]}]}""", "missing input(s): b" },

        // Against the model's signature.
        { Fp32, Input("\"FP32\"", "[1,3]", "[1,2,3]"), "input 'x' has shape [1,3] but the model expects rank 1: [-1]" },
        { Fp32, Input("\"FP32\"", "[]", "1"), "but the model expects rank 1" },
        { ProtocolModels.Fixed, Input("\"FP32\"", "[2,3]", "[1,2,3,4,5,6]"), "input 'x' has shape [2,3] but the model expects [1,3]" },
        { ProtocolModels.Fixed, Input("\"FP32\"", "[1,4]", "[1,2,3,4]"), "but the model expects [1,3]" },
        { ProtocolModels.BatchOfTwo, Input("\"FP32\"", "[3,2]", "[1,2,3,4,5,6]"), "input 'x' holds a batch of 3 but this model takes at most 2" },
        { Fp32, Input("\"BYTES\"", "[1]", "[\"1.5\"]"), "input 'x' has datatype BYTES but the model expects FP32" },
        { "identity-bytes", Input("\"FP32\"", "[1]", "[1.5]"), "input 'x' has datatype FP32 but the model expects BYTES" },
        { "identity-int64", Input("\"INT32\"", "[1]", "[1]"), "input 'x' has datatype INT32 but the model expects INT64" },

        // Elements against the declared datatype.
        { Fp32, Input("\"FP32\"", "[1]", "[\"a\"]"), "input 'x' is FP32 but element 0 is a string (expected a number)" },
        { Fp32, Input("\"FP32\"", "[2]", "[1,null]"), "element 1 is null" },
        { Fp32, Input("\"FP32\"", "[1]", "[{\"v\":1}]"), "element 0 is an object" },
        { Fp32, Input("\"FP32\"", "[1]", "[true]"), "element 0 is a boolean" },
        { "identity-bytes", Input("\"BYTES\"", "[2]", "[\"a\",1]"), "input 'x' is BYTES but element 1 is a number (BYTES elements are strings)" },
        { "identity-bool", Input("\"BOOL\"", "[1]", "[1]"), "input 'x' is BOOL but element 0 is a number (BOOL elements are true or false)" },
        { "identity-bool", Input("\"BOOL\"", "[1]", "[\"true\"]"), "is BOOL but element 0 is a string" },

        // Numbers out of the datatype's range.
        { "identity-uint8", Input("\"UINT8\"", "[1]", "[300]"), "input 'x' element 0 (300) is not a valid UINT8 value" },
        { "identity-uint8", Input("\"UINT8\"", "[1]", "[-1]"), "(-1) is not a valid UINT8 value" },
        { "identity-int8", Input("\"INT8\"", "[1]", "[128]"), "(128) is not a valid INT8 value" },
        { "identity-int8", Input("\"INT8\"", "[1]", "[-129]"), "(-129) is not a valid INT8 value" },
        { "identity-int16", Input("\"INT16\"", "[1]", "[32768]"), "(32768) is not a valid INT16 value" },
        { "identity-int32", Input("\"INT32\"", "[2]", "[1,1.5]"), "input 'x' element 1 (1.5) is not a valid INT32 value" },
        { "identity-int32", Input("\"INT32\"", "[1]", "[2147483648]"), "(2147483648) is not a valid INT32 value" },
        { "identity-int64", Input("\"INT64\"", "[1]", "[9223372036854775808]"), "(9223372036854775808) is not a valid INT64 value" },
        { "identity-uint32", Input("\"UINT32\"", "[1]", "[4294967296]"), "is not a valid UINT32 value" },
        { "identity-uint64", Input("\"UINT64\"", "[1]", "[18446744073709551616]"), "is not a valid UINT64 value" },
        { "identity-uint64", Input("\"UINT64\"", "[1]", "[-1]"), "(-1) is not a valid UINT64 value" },
        { "identity-int64", Input("\"INT64\"", "[1]", "[1e3]"), "(1e3) is not a valid INT64 value" },
        { Fp32, Input("\"FP32\"", "[1]", "[1e39]"), "(1e39) is not a valid FP32 value" },
        { "identity-fp64", Input("\"FP64\"", "[1]", "[1e309]"), "(1e309) is not a valid FP64 value" },
        { "identity-fp16", Input("\"FP16\"", "[1]", "[70000]"), "(70000) is not a valid FP16 value" },
        { "identity-fp16", Input("\"FP16\"", "[1]", "[-1e5]"), "(-1e5) is not a valid FP16 value" },

        // Data and binary_data_size.
        { Fp32, """{"inputs":[{"name":"x","datatype":"FP32","shape":[1]}]}""", "input 'x' has neither 'data' nor binary_data_size" },
        { Fp32, """{"inputs":[{"name":"x","datatype":"FP32","shape":[1],"data":[1],"parameters":{"binary_data_size":4}}]}""", "input 'x' has both 'data' and binary_data_size" },
        { Fp32, """{"inputs":[{"name":"x","datatype":"FP32","shape":[1],"parameters":{"binary_data_size":-4}}]}""", "binary_data_size must be a non-negative integer, not -4" },
        { Fp32, """{"inputs":[{"name":"x","datatype":"FP32","shape":[1],"parameters":{"binary_data_size":"4"}}]}""", "binary_data_size must be a non-negative integer" },
        { Fp32, """{"inputs":[{"name":"x","datatype":"FP32","shape":[1],"parameters":{"binary_data_size":4}}]}""", "declares binary_data_size 4 but only 0 bytes of binary data remain" },

        // Parameters.
        { Fp32, """{"parameters":[1],"inputs":[{"name":"x","datatype":"FP32","shape":[1],"data":[1]}]}""", "the request's 'parameters' must be a JSON object" },
        { Fp32, """{"parameters":{"a":{"b":1}},"inputs":[{"name":"x","datatype":"FP32","shape":[1],"data":[1]}]}""", "parameter 'a' must be a string, a number or a boolean" },
        { Fp32, """{"parameters":{"a":null},"inputs":[{"name":"x","datatype":"FP32","shape":[1],"data":[1]}]}""", "parameter 'a' must be a string, a number or a boolean" },
        { Fp32, """{"parameters":{"binary_data_output":"yes"},"inputs":[{"name":"x","datatype":"FP32","shape":[1],"data":[1]}]}""", "the request parameter 'binary_data_output' must be true or false" },
        { Fp32, """{"inputs":[{"name":"x","datatype":"FP32","shape":[1],"data":[1],"parameters":"p"}]}""", "the input's 'parameters' must be a JSON object" },

        // Requested outputs.
        { Fp32, """{"inputs":[{"name":"x","datatype":"FP32","shape":[1],"data":[1]}],"outputs":[{"name":"zz"}]}""", "unknown output 'zz'; the model's outputs are y" },
        { Fp32, """{"inputs":[{"name":"x","datatype":"FP32","shape":[1],"data":[1]}],"outputs":[{"name":"y","parameters":{"classification":2}}]}""", "the classification extension is not supported" },
        { Fp32, """{"inputs":[{"name":"x","datatype":"FP32","shape":[1],"data":[1]}],"outputs":[{"name":"y"},{"name":"y"}]}""", "output 'y' is requested more than once" },
        { Fp32, """{"inputs":[{"name":"x","datatype":"FP32","shape":[1],"data":[1]}],"outputs":{"name":"y"}}""", "'outputs' must be an array" },
        { Fp32, """{"inputs":[{"name":"x","datatype":"FP32","shape":[1],"data":[1]}],"outputs":["y"]}""", "each requested output must be a JSON object" },
        { Fp32, """{"inputs":[{"name":"x","datatype":"FP32","shape":[1],"data":[1]}],"outputs":[{"parameters":{}}]}""", "a requested output has no 'name'" },
        { Fp32, """{"inputs":[{"name":"x","datatype":"FP32","shape":[1],"data":[1]}],"outputs":[{"name":"y","parameters":{"binary_data":1}}]}""", "the output parameter 'binary_data' must be true or false" },
    };

    [Theory]
    [MemberData(nameof(BadRequests))]
    public async Task Infer_BadRequest_Returns400NamingTheProblem(string model, string body, string fragment)
    {
        var reply = await _client.InferAsync(model, body);

        reply.AssertError(400, fragment);
    }

    [Theory]
    [InlineData("""{"inputs":[{"name":"x","datatype":"FP32","shape":[1],"data":DEEP}]}""")]
    [InlineData("""{"extra":DEEP,"inputs":[{"name":"x","datatype":"FP32","shape":[1],"data":[1]}]}""")]
    [InlineData("""{"parameters":{"p":DEEP},"inputs":[]}""")]
    public async Task Infer_DeeplyNestedJson_Returns400(string template)
    {
        var body = template.Replace("DEEP", new string('[', 10_000) + "1" + new string(']', 10_000), StringComparison.Ordinal);

        var reply = await _client.InferAsync(Fp32, body);

        reply.AssertError(400);
        Assert.True(
            reply.Error.Contains("malformed JSON", StringComparison.Ordinal) || reply.Error.Contains("parameter 'p'", StringComparison.Ordinal),
            reply.Error);
        (await _client.GetAsync("/v2/health/live")).AssertOk();
    }

    [Theory]
    [InlineData(Fp32, """{"id":"r~","inputs":[{"name":"x","datatype":"FP32","shape":[1],"data":[1]}]}""")]
    [InlineData(Fp32, """{"inputs":[{"name":"x~","datatype":"FP32","shape":[1],"data":[1]}]}""")]
    [InlineData(Fp32, """{"inputs":[{"name":"x","datatype":"FP3~","shape":[1],"data":[1]}]}""")]
    [InlineData(Fp32, """{"inputs":[{"name":"x","datatype":"FP32","shape":[1],"data":[1]}],"outputs":[{"name":"y~"}]}""")]
    [InlineData("identity-bytes", """{"inputs":[{"name":"x","datatype":"BYTES","shape":[1],"data":["\u00e9~"]}]}""")]
    public async Task Infer_InvalidUtf8InAString_Returns400(string model, string template)
    {
        // '~' stands for a byte that is never valid UTF-8.
        var body = Encoding.UTF8.GetBytes(template).Select(b => b == (byte)'~' ? (byte)0xff : b).ToArray();

        var reply = await _client.PostAsync($"/v2/models/{model}/infer", new ByteArrayContent(body));

        reply.AssertError(400);
        Assert.Contains("is not valid text: it holds bytes that are not UTF-8", reply.Error, StringComparison.Ordinal);
    }

    [Theory]
    [InlineData(Fp32, """{"id":"\ud800","inputs":[{"name":"x","datatype":"FP32","shape":[1],"data":[1]}]}""", "'id'")]
    [InlineData(Fp32, """{"inputs":[{"name":"x\udfff","datatype":"FP32","shape":[1],"data":[1]}]}""", "an input's 'name'")]
    [InlineData(Fp32, """{"inputs":[{"name":"x","datatype":"FP32\ud800","shape":[1],"data":[1]}]}""", "an input's 'datatype'")]
    [InlineData(Fp32, """{"inputs":[{"name":"x","datatype":"FP32","shape":[1],"data":[1]}],"outputs":[{"name":"\ud800y"}]}""", "an output's 'name'")]
    [InlineData(Fp32, """{"inputs":[{"name":"x","datatype":"FP32","shape":[1],"data":[1]}],"parameters":{"\ud800":1}}""", "a parameter name of the request")]
    [InlineData(Fp32, """{"inputs":[{"name":"x","datatype":"FP32","shape":[1],"data":[1],"parameters":{"\ud800":1}}]}""", "a parameter name of the input")]
    [InlineData(Fp32, """{"inputs":[{"name":"x","datatype":"FP32","shape":[1],"data":[1]}],"outputs":[{"name":"y","parameters":{"\ud800":1}}]}""", "a parameter name of the output")]
    [InlineData("identity-bytes", """{"inputs":[{"name":"x","datatype":"BYTES","shape":[1],"data":["a\ud800"]}]}""", "input 'x' element 0")]
    public async Task Infer_LoneSurrogateEscape_Returns400NamingTheString(string model, string body, string what)
    {
        var reply = await _client.InferAsync(model, body);

        reply.AssertError(400, $"{what} is not valid text: it holds bytes that are not UTF-8 or an escaped lone surrogate such as \\ud800");
        (await _client.GetAsync("/v2/health/live")).AssertOk();
    }

    [Fact]
    public async Task Infer_OnlyOpeningBrackets_Returns400()
    {
        var reply = await _client.InferAsync(Fp32, new string('[', 10_000));

        reply.AssertError(400, "the request body must be a JSON object");
    }

    [Fact]
    public async Task Infer_DeepNestingInsideObjects_Returns400()
    {
        var body = string.Concat(Enumerable.Repeat("{\"a\":", 10_000)) + "1" + new string('}', 10_000);

        var reply = await _client.InferAsync(Fp32, body);

        reply.AssertError(400, "malformed JSON");
    }

    [Fact]
    public async Task Infer_UnknownModel_Returns404()
    {
        var reply = await _client.InferAsync("nope", """{"inputs":[{"name":"x","datatype":"FP32","shape":[1],"data":[1]}]}""");

        reply.AssertError(404, "unknown model 'nope'");
    }

    [Fact]
    public async Task Infer_UnknownVersion_Returns404()
    {
        var reply = await _client.PostAsync(
            $"/v2/models/{Fp32}/versions/9/infer",
            OipClient.Json("""{"inputs":[{"name":"x","datatype":"FP32","shape":[1],"data":[1]}]}"""));

        reply.AssertError(404, $"model '{Fp32}' has no version '9' (versions: 1)");
    }

    [Fact]
    public async Task Infer_KnownVersion_Returns200()
    {
        var reply = await _client.PostAsync(
            $"/v2/models/{Fp32}/versions/1/infer",
            OipClient.Json("""{"inputs":[{"name":"x","datatype":"FP32","shape":[1],"data":[1]}]}"""));

        reply.AssertOk();
        Assert.Equal("1", reply.Json.GetProperty("model_version").GetString());
    }

    [Fact]
    public async Task Infer_HeaderLengthLargerThanBody_Returns400()
    {
        var content = OipClient.Json("""{"inputs":[{"name":"x","datatype":"FP32","shape":[1],"data":[1]}]}""");
        var bodyLength = content.Headers.ContentLength;
        content.Headers.Add(OipHeaders.InferenceHeaderContentLength, "1000");

        var reply = await _client.PostAsync($"/v2/models/{Fp32}/infer", content);

        reply.AssertError(400, $"Inference-Header-Content-Length is 1000 but the body has only {bodyLength} bytes");
    }

    [Theory]
    [InlineData("abc")]
    [InlineData("-5")]
    [InlineData("1.5")]
    [InlineData("99999999999999999999")]
    public async Task Infer_HeaderLengthNotANumber_Returns400(string header)
    {
        var content = OipClient.Json("""{"inputs":[{"name":"x","datatype":"FP32","shape":[1],"data":[1]}]}""");
        content.Headers.TryAddWithoutValidation(OipHeaders.InferenceHeaderContentLength, header);

        var reply = await _client.PostAsync($"/v2/models/{Fp32}/infer", content);

        reply.AssertError(400, "Inference-Header-Content-Length must be a non-negative integer");
    }

    [Fact]
    public async Task Infer_BinaryDataSizeLargerThanRemainingBody_Returns400()
    {
        var reply = await _client.InferBinaryAsync(
            Fp32,
            """{"inputs":[{"name":"x","datatype":"FP32","shape":[3],"parameters":{"binary_data_size":100}}]}""",
            OipClient.Raw(1f, 2f, 3f));

        reply.AssertError(400, "input 'x' declares binary_data_size 100 but only 12 bytes of binary data remain in the body");
    }

    [Fact]
    public async Task Infer_LeftoverBinaryBytes_Returns400()
    {
        var reply = await _client.InferBinaryAsync(
            Fp32,
            """{"inputs":[{"name":"x","datatype":"FP32","shape":[3],"parameters":{"binary_data_size":12}}]}""",
            OipClient.Raw(1f, 2f, 3f, 4f));

        reply.AssertError(400, "the body holds 16 bytes of binary data but the inputs' binary_data_size add up to 12");
    }

    [Fact]
    public async Task Infer_BinaryDataSizeNotMatchingShape_Returns400()
    {
        var reply = await _client.InferBinaryAsync(
            Fp32,
            """{"inputs":[{"name":"x","datatype":"FP32","shape":[3],"parameters":{"binary_data_size":8}}]}""",
            OipClient.Raw(1f, 2f));

        reply.AssertError(400, "input 'x' has binary_data_size 8 but shape [3] of FP32 needs 12 bytes");
    }

    [Fact]
    public async Task Infer_BinaryBytesElementLengthOverrunsData_Returns400()
    {
        byte[] binary = [100, 0, 0, 0, 0x61, 0x62, 0x63];

        var reply = await _client.InferBinaryAsync(
            "identity-bytes",
            """{"inputs":[{"name":"x","datatype":"BYTES","shape":[1],"parameters":{"binary_data_size":7}}]}""",
            binary);

        reply.AssertError(400, "input 'x' element 0 claims 100 bytes but only 3 remain");
    }

    [Fact]
    public async Task Infer_BinaryBytesLengthPrefixNearUInt32Max_Returns400()
    {
        byte[] binary = [0xff, 0xff, 0xff, 0xff, 0x61];

        var reply = await _client.InferBinaryAsync(
            "identity-bytes",
            """{"inputs":[{"name":"x","datatype":"BYTES","shape":[1],"parameters":{"binary_data_size":5}}]}""",
            binary);

        reply.AssertError(400, "claims 4294967295 bytes but only 1 remain");
    }

    [Fact]
    public async Task Infer_BinaryBytesEndingInsideAnElement_Returns400()
    {
        byte[] binary = [.. OipClient.LengthPrefixed("a", "b"), 0x01, 0x00];

        var reply = await _client.InferBinaryAsync(
            "identity-bytes",
            """{"inputs":[{"name":"x","datatype":"BYTES","shape":[3],"parameters":{"binary_data_size":12}}]}""",
            binary);

        reply.AssertError(400, "input 'x' binary data ends inside element 2");
    }

    [Fact]
    public async Task Infer_BinaryBytesFewerBytesThanElements_Returns400WithoutAllocating()
    {
        var reply = await _client.InferBinaryAsync(
            "identity-bytes",
            """{"inputs":[{"name":"x","datatype":"BYTES","shape":[1000000000],"parameters":{"binary_data_size":4}}]}""",
            [0, 0, 0, 0]);

        reply.AssertError(400, "input 'x' has 1000000000 BYTES elements but only 4 bytes of binary data");
    }

    [Fact]
    public async Task Infer_BinaryBytesTrailingBytesAfterElements_Returns400()
    {
        byte[] binary = [.. OipClient.LengthPrefixed("ab"), 1, 2, 3];

        var reply = await _client.InferBinaryAsync(
            "identity-bytes",
            """{"inputs":[{"name":"x","datatype":"BYTES","shape":[1],"parameters":{"binary_data_size":9}}]}""",
            binary);

        reply.AssertError(400, "input 'x' has 3 bytes of binary data beyond its 1 elements");
    }

    [Fact]
    public async Task Infer_BinaryBodyWithoutHeaderLength_Returns400()
    {
        var body = new ByteArrayContent(
            [.. Encoding.UTF8.GetBytes("""{"inputs":[{"name":"x","datatype":"FP32","shape":[1],"parameters":{"binary_data_size":4}}]}"""), .. OipClient.Raw(1f)]);
        body.Headers.ContentType = new MediaTypeHeaderValue(OipHeaders.Binary);

        var reply = await _client.PostAsync($"/v2/models/{Fp32}/infer", body);

        // Without the header the whole body is JSON, so there is no binary section for the input to take from.
        reply.AssertError(400, "binary_data_size 4 but only 0 bytes of binary data remain");
    }

    [Fact]
    public async Task Infer_HeaderLengthZero_Returns400()
    {
        var content = OipClient.Json("""{"inputs":[{"name":"x","datatype":"FP32","shape":[1],"data":[1]}]}""");
        content.Headers.Add(OipHeaders.InferenceHeaderContentLength, "0");

        var reply = await _client.PostAsync($"/v2/models/{Fp32}/infer", content);

        reply.AssertError(400);
    }

    [Fact]
    public async Task Infer_AfterManyBadRequests_ServerStillAnswers()
    {
        foreach (var row in BadRequests.Take(10))
        {
            (await _client.InferAsync((string)row[0], (string)row[1])).AssertError(400);
        }

        var reply = await _client.InferAsync(Fp32, """{"inputs":[{"name":"x","datatype":"FP32","shape":[2],"data":[1,2]}]}""");

        reply.AssertOk();
        Assert.Equal([1f, 2f], reply.Data("y").Select(v => v.GetSingle()));
    }

    private static string Input(string datatype, string shape, string data) =>
        $$"""{"inputs":[{"name":"x","datatype":{{datatype}},"shape":{{shape}},"data":{{data}}}]}""";
}
