using System.Text.Json;
using Serverless.Inference.Protocol;
using Serverless.Inference.Tests.Support;

namespace Serverless.Inference.Tests.Protocol;

/// <summary>
/// Every Open Inference Protocol datatype through the real local host, as JSON and with the binary tensor
/// data extension in both directions, on Identity, Doubler and AddFloat models.
/// </summary>
public sealed class DatatypeRoundTripTests(OipServerFixture fixture) : IClassFixture<OipServerFixture>
{
    private readonly OipClient _client = fixture.Client;

    /// <summary>Each datatype with values at its edges, as the JSON array a request sends.</summary>
    public static TheoryData<string, string> EdgeValues => new()
    {
        { "BOOL", "[true,false,true]" },
        { "INT8", "[-128,0,127]" },
        { "INT16", "[-32768,-1,32767]" },
        { "INT32", "[-2147483648,7,2147483647]" },
        { "INT64", "[-9223372036854775808,0,9223372036854775807]" },
        { "UINT8", "[0,128,255]" },
        { "UINT16", "[0,1,65535]" },
        { "UINT32", "[0,1,4294967295]" },
        { "UINT64", "[0,1,18446744073709551615]" },
        { "FP16", "[1.5,-0.25,65504]" },
        { "FP32", "[0.1,-3.4028235E+38,1.5]" },
        { "FP64", "[3.141592653589793,-2.718281828459045e-300,1.7976931348623157E+308]" },
        { "BYTES", """["h\u00e9llo \u2713","","plain \"quoted\" \\ text"]""" },
    };

    /// <summary>Doubler inputs [2, 2] and the hand-computed y = 2x, flattened.</summary>
    public static TheoryData<string, string, string> Doubled => new()
    {
        { "INT8", "[[1,-2],[63,-64]]", "[2,-4,126,-128]" },
        { "INT16", "[[1,-2],[300,-16384]]", "[2,-4,600,-32768]" },
        { "INT32", "[[1,-2],[1000000,-1073741824]]", "[2,-4,2000000,-2147483648]" },
        { "INT64", "[[1,-2],[4611686018427387903,-4611686018427387904]]", "[2,-4,9223372036854775806,-9223372036854775808]" },
        { "UINT8", "[[0,1],[100,127]]", "[0,2,200,254]" },
        { "UINT16", "[[0,1],[1000,32767]]", "[0,2,2000,65534]" },
        { "UINT32", "[[0,1],[100000,2147483647]]", "[0,2,200000,4294967294]" },
        { "UINT64", "[[0,1],[5,9223372036854775807]]", "[0,2,10,18446744073709551614]" },
        { "FP16", "[[1.5,-0.25],[100,0.125]]", "[3,-0.5,200,0.25]" },
        { "FP32", "[[1.5,-2.25],[0.5,1e10]]", "[3,-4.5,1,2e10]" },
        { "FP64", "[[0.1,-1.25],[1e300,2.5]]", "[0.2,-2.5,2e300,5]" },
    };

    [Fact]
    public void EdgeValues_CoverAllThirteenDatatypes() =>
        Assert.Equal(ProtocolModels.DataTypes.Keys.Order(), EdgeValues.Select(row => (string)row[0]).Order());

    [Theory]
    [MemberData(nameof(EdgeValues))]
    public async Task Identity_JsonRequest_ReturnsExactValuesAsJson(string dataType, string values)
    {
        var reply = await _client.InferAsync(ProtocolModels.Identity(dataType), Request(dataType, values));

        reply.AssertOk();
        Assert.Equal(OipHeaders.Json, reply.ContentType);
        Assert.False(reply.Headers.ContainsKey(OipHeaders.InferenceHeaderContentLength));
        Assert.Equal(["y"], reply.OutputNames);
        Assert.Equal(dataType, reply.Output("y").GetProperty("datatype").GetString());
        Assert.Equal([3L], reply.Shape("y"));
        AssertSameValues(values, reply.Data("y"));
    }

    [Theory]
    [MemberData(nameof(EdgeValues))]
    public async Task Identity_BinaryRequestAndResponse_ReturnsExactBytes(string dataType, string values)
    {
        var sent = Encode(dataType, values);
        var header = $$$"""{"inputs":[{"name":"x","datatype":"{{{dataType}}}","shape":[3],"parameters":{"binary_data_size":{{{sent.Length}}}}}],"parameters":{"binary_data_output":true}}""";

        var reply = await _client.InferBinaryAsync(ProtocolModels.Identity(dataType), header, sent);

        reply.AssertOk();
        Assert.Equal(OipHeaders.Binary, reply.ContentType);
        Assert.True(reply.JsonLength < reply.Body.Length);
        var output = reply.Output("y");
        Assert.Equal(dataType, output.GetProperty("datatype").GetString());
        Assert.Equal(sent.Length, output.GetProperty("parameters").GetProperty("binary_data_size").GetInt32());
        Assert.False(output.TryGetProperty("data", out _));
        Assert.Equal(sent, reply.BinaryOutput("y"));
        Assert.Equal(sent, reply.BinaryTail);
    }

    [Theory]
    [MemberData(nameof(EdgeValues))]
    public async Task Identity_BinaryRequest_JsonResponseHasSameValues(string dataType, string values)
    {
        var sent = Encode(dataType, values);
        var header = $$$"""{"inputs":[{"name":"x","datatype":"{{{dataType}}}","shape":[3],"parameters":{"binary_data_size":{{{sent.Length}}}}}]}""";

        var reply = await _client.InferBinaryAsync(ProtocolModels.Identity(dataType), header, sent);

        reply.AssertOk();
        Assert.Equal(OipHeaders.Json, reply.ContentType);
        AssertSameValues(values, reply.Data("y"));
    }

    [Theory]
    [MemberData(nameof(EdgeValues))]
    public async Task Identity_JsonRequest_BinaryResponseHasSameValues(string dataType, string values)
    {
        var json = Request(dataType, values, ""","parameters":{"binary_data_output":true}""");

        var reply = await _client.InferAsync(ProtocolModels.Identity(dataType), json);

        reply.AssertOk();
        Assert.Equal(OipHeaders.Binary, reply.ContentType);
        var expected = Encode(dataType, values);
        Assert.Equal(reply.Body.Length - expected.Length, reply.JsonLength);
        Assert.Equal(expected, reply.BinaryOutput("y"));
    }

    [Fact]
    public async Task Identity_BytesBinaryResponse_IsLengthPrefixedUtf8()
    {
        var reply = await _client.InferAsync(
            ProtocolModels.Identity("BYTES"),
            """{"inputs":[{"name":"x","datatype":"BYTES","shape":[2],"data":["héllo ✓","ab"]}],"parameters":{"binary_data_output":true}}""");

        reply.AssertOk();
        // "héllo ✓" is h, é (C3 A9), l, l, o, space, ✓ (E2 9C 93): 10 bytes.
        byte[] expected =
        [
            10, 0, 0, 0, 0x68, 0xC3, 0xA9, 0x6C, 0x6C, 0x6F, 0x20, 0xE2, 0x9C, 0x93,
            2, 0, 0, 0, 0x61, 0x62,
        ];
        Assert.Equal(expected, reply.BinaryOutput("y"));
        Assert.Equal(expected.Length, reply.Output("y").GetProperty("parameters").GetProperty("binary_data_size").GetInt32());
        Assert.Equal(reply.Body.Length - expected.Length, int.Parse(reply.Headers[OipHeaders.InferenceHeaderContentLength], System.Globalization.CultureInfo.InvariantCulture));
    }

    [Fact]
    public async Task Identity_BytesJsonResponse_KeepsNonAsciiText()
    {
        var reply = await _client.InferAsync(
            ProtocolModels.Identity("BYTES"),
            """{"inputs":[{"name":"x","datatype":"BYTES","shape":[1],"data":["h\u00e9llo \u2713"]}]}""");

        reply.AssertOk();
        Assert.Equal("héllo ✓", Assert.Single(reply.Data("y")).GetString());
    }

    [Fact]
    public async Task Identity_BoolBinaryResponse_IsOneBytePerElement()
    {
        var reply = await _client.InferAsync(
            ProtocolModels.Identity("BOOL"),
            """{"inputs":[{"name":"x","datatype":"BOOL","shape":[4],"data":[true,false,false,true]}],"parameters":{"binary_data_output":true}}""");

        reply.AssertOk();
        Assert.Equal([1, 0, 0, 1], reply.BinaryOutput("y"));
    }

    [Fact]
    public async Task Identity_BoolBinaryRequest_ReadsNonZeroBytesAsTrue()
    {
        var reply = await _client.InferBinaryAsync(
            ProtocolModels.Identity("BOOL"),
            """{"inputs":[{"name":"x","datatype":"BOOL","shape":[3],"parameters":{"binary_data_size":3}}]}""",
            [0, 2, 255]);

        reply.AssertOk();
        Assert.Equal([false, true, true], reply.Data("y").Select(v => v.GetBoolean()));
    }

    [Fact]
    public async Task Identity_EmptyTensor_ReturnsEmptyOutput()
    {
        var reply = await _client.InferAsync(ProtocolModels.Identity("FP32"), """{"inputs":[{"name":"x","datatype":"FP32","shape":[0],"data":[]}]}""");

        reply.AssertOk();
        Assert.Equal([0L], reply.Shape("y"));
        Assert.Empty(reply.Data("y"));
    }

    [Fact]
    public async Task Identity_BareScalarData_FillsOneElement()
    {
        var reply = await _client.InferAsync(ProtocolModels.Identity("INT32"), """{"inputs":[{"name":"x","datatype":"INT32","shape":[1],"data":42}]}""");

        reply.AssertOk();
        Assert.Equal(42, Assert.Single(reply.Data("y")).GetInt32());
    }

    [Theory]
    [MemberData(nameof(Doubled))]
    public async Task Doubler_JsonRequest_ReturnsTwiceTheInput(string dataType, string input, string expected)
    {
        var reply = await _client.InferAsync(
            ProtocolModels.Doubler(dataType),
            $$"""{"inputs":[{"name":"x","datatype":"{{dataType}}","shape":[2,2],"data":{{input}}}]}""");

        reply.AssertOk();
        Assert.Equal([2L, 2L], reply.Shape("y"));
        Assert.Equal(dataType, reply.Output("y").GetProperty("datatype").GetString());
        AssertSameValues(expected, reply.Data("y"));
    }

    [Theory]
    [MemberData(nameof(Doubled))]
    public async Task Doubler_BinaryRequestAndResponse_ReturnsTwiceTheInput(string dataType, string input, string expected)
    {
        var flatInput = JsonSerializer.Serialize(JsonDocument.Parse(input).RootElement.EnumerateArray().SelectMany(row => row.EnumerateArray()));
        var sent = Encode(dataType, flatInput);
        var header = $$$"""{"inputs":[{"name":"x","datatype":"{{{dataType}}}","shape":[2,2],"parameters":{"binary_data_size":{{{sent.Length}}}}}],"parameters":{"binary_data_output":true}}""";

        var reply = await _client.InferBinaryAsync(ProtocolModels.Doubler(dataType), header, sent);

        reply.AssertOk();
        Assert.Equal(Encode(dataType, expected), reply.BinaryOutput("y"));
    }

    [Fact]
    public async Task AddFloat_TwoRows_ReturnsSumAndProduct()
    {
        var reply = await _client.InferAsync(ProtocolModels.AddFloat, AddFloatRequest(""));

        reply.AssertOk();
        Assert.Equal(["sum", "product"], reply.OutputNames);
        Assert.Equal([2L, 3L], reply.Shape("sum"));
        Assert.Equal([2L, 3L], reply.Shape("product"));
        Assert.Equal([5f, 2.5f, -1f, 10f, 0f, 4f], reply.Data("sum").Select(v => v.GetSingle()));
        Assert.Equal([6f, 1.5f, -2f, 25f, 0f, 4f], reply.Data("product").Select(v => v.GetSingle()));
    }

    [Fact]
    public async Task AddFloat_OutputsSelection_ReturnsOnlyTheRequestedOutput()
    {
        var reply = await _client.InferAsync(ProtocolModels.AddFloat, AddFloatRequest(""","outputs":[{"name":"product"}]"""));

        reply.AssertOk();
        Assert.Equal(["product"], reply.OutputNames);
        Assert.Equal([6f, 1.5f, -2f, 25f, 0f, 4f], reply.Data("product").Select(v => v.GetSingle()));
    }

    [Fact]
    public async Task AddFloat_OutputsInRequestedOrder_AnswersInThatOrder()
    {
        var reply = await _client.InferAsync(ProtocolModels.AddFloat, AddFloatRequest(""","outputs":[{"name":"product"},{"name":"sum"}]"""));

        reply.AssertOk();
        Assert.Equal(["product", "sum"], reply.OutputNames);
    }

    [Fact]
    public async Task AddFloat_PerOutputBinaryTrue_OverridesJsonRequestForThatOutputOnly()
    {
        var reply = await _client.InferAsync(
            ProtocolModels.AddFloat,
            AddFloatRequest(""","parameters":{"binary_data_output":false},"outputs":[{"name":"sum","parameters":{"binary_data":true}},{"name":"product"}]"""));

        reply.AssertOk();
        Assert.Equal(OipHeaders.Binary, reply.ContentType);
        Assert.Equal(OipClient.Raw(5f, 2.5f, -1f, 10f, 0f, 4f), reply.BinaryOutput("sum"));
        Assert.False(reply.Output("sum").TryGetProperty("data", out _));
        Assert.Equal([6f, 1.5f, -2f, 25f, 0f, 4f], reply.Data("product").Select(v => v.GetSingle()));
        Assert.False(reply.Output("product").TryGetProperty("parameters", out _));
        Assert.Equal(24, reply.BinaryTail.Length);
    }

    [Fact]
    public async Task AddFloat_PerOutputBinaryFalse_OverridesBinaryRequestForThatOutputOnly()
    {
        var reply = await _client.InferAsync(
            ProtocolModels.AddFloat,
            AddFloatRequest(""","parameters":{"binary_data_output":true},"outputs":[{"name":"sum","parameters":{"binary_data":false}},{"name":"product"}]"""));

        reply.AssertOk();
        Assert.Equal([5f, 2.5f, -1f, 10f, 0f, 4f], reply.Data("sum").Select(v => v.GetSingle()));
        Assert.Equal(OipClient.Raw(6f, 1.5f, -2f, 25f, 0f, 4f), reply.BinaryOutput("product"));
        Assert.Equal(24, reply.BinaryTail.Length);
    }

    [Fact]
    public async Task AddFloat_BinaryOutputsBoth_TailHoldsThemInJsonOrder()
    {
        var reply = await _client.InferAsync(
            ProtocolModels.AddFloat,
            AddFloatRequest(""","parameters":{"binary_data_output":true},"outputs":[{"name":"product"},{"name":"sum"}]"""));

        reply.AssertOk();
        Assert.Equal(
            [.. OipClient.Raw(6f, 1.5f, -2f, 25f, 0f, 4f), .. OipClient.Raw(5f, 2.5f, -1f, 10f, 0f, 4f)],
            reply.BinaryTail);
    }

    [Fact]
    public async Task AddFloat_MixedJsonAndBinaryInputs_ReadsBoth()
    {
        var b = OipClient.Raw(3f, 1f, 1f, 5f, 0f, 2f);
        var header = $$$"""
            {"inputs":[
              {"name":"a","datatype":"FP32","shape":[2,3],"data":[[2,1.5,-2],[5,-1,2]]},
              {"name":"b","datatype":"FP32","shape":[2,3],"parameters":{"binary_data_size":{{{b.Length}}}}}],
             "outputs":[{"name":"sum"}]}
            """;

        var reply = await _client.InferBinaryAsync(ProtocolModels.AddFloat, header, b);

        reply.AssertOk();
        Assert.Equal([5f, 2.5f, -1f, 10f, -1f, 4f], reply.Data("sum").Select(v => v.GetSingle()));
    }

    private static string AddFloatRequest(string rest) =>
        $$"""
        {"inputs":[
          {"name":"a","datatype":"FP32","shape":[2,3],"data":[[2,1.5,-2],[5,0,2]]},
          {"name":"b","datatype":"FP32","shape":[2,3],"data":[[3,1,1],[5,0,2]]}]{{rest}}}
        """;

    private static string Request(string dataType, string values, string rest = "") =>
        $$"""{"inputs":[{"name":"x","datatype":"{{dataType}}","shape":[{{JsonDocument.Parse(values).RootElement.GetArrayLength()}}],"data":{{values}}}]{{rest}}}""";

    /// <summary>Compares as JSON values: numbers by value (1.5 equals 1.50 and 15e-1), strings by text.</summary>
    private static void AssertSameValues(string expected, IReadOnlyList<JsonElement> actual)
    {
        var wanted = JsonDocument.Parse(expected).RootElement.EnumerateArray().ToList();
        Assert.Equal(wanted.Count, actual.Count);
        for (var i = 0; i < wanted.Count; i++)
        {
            Assert.True(JsonElement.DeepEquals(wanted[i], actual[i]), $"element {i}: expected {wanted[i].GetRawText()}, got {actual[i].GetRawText()}");
        }
    }

    /// <summary>A JSON array of values in the binary extension's layout for the datatype.</summary>
    private static byte[] Encode(string dataType, string values)
    {
        var elements = JsonDocument.Parse(values).RootElement.EnumerateArray().ToArray();
        return dataType switch
        {
            "BOOL" => [.. elements.Select(e => e.GetBoolean() ? (byte)1 : (byte)0)],
            "INT8" => OipClient.Raw([.. elements.Select(e => e.GetSByte())]),
            "INT16" => OipClient.Raw([.. elements.Select(e => e.GetInt16())]),
            "INT32" => OipClient.Raw([.. elements.Select(e => e.GetInt32())]),
            "INT64" => OipClient.Raw([.. elements.Select(e => e.GetInt64())]),
            "UINT8" => [.. elements.Select(e => e.GetByte())],
            "UINT16" => OipClient.Raw([.. elements.Select(e => e.GetUInt16())]),
            "UINT32" => OipClient.Raw([.. elements.Select(e => e.GetUInt32())]),
            "UINT64" => OipClient.Raw([.. elements.Select(e => e.GetUInt64())]),
            "FP16" => OipClient.Raw([.. elements.Select(e => (Half)e.GetDouble())]),
            "FP32" => OipClient.Raw([.. elements.Select(e => e.GetSingle())]),
            "FP64" => OipClient.Raw([.. elements.Select(e => e.GetDouble())]),
            "BYTES" => OipClient.LengthPrefixed([.. elements.Select(e => e.GetString()!)]),
            _ => throw new ArgumentOutOfRangeException(nameof(dataType), dataType, "not an OIP datatype"),
        };
    }
}
