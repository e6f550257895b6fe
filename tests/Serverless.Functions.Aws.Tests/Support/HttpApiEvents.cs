using System.Text.Json.Nodes;

namespace Serverless.Functions.Aws.Tests.Support;

/// <summary>API Gateway HTTP API payload 2.0 events, shaped like the ones API Gateway sends.</summary>
internal static class HttpApiEvents
{
    public static string Create(
        string method,
        string rawPath,
        string? body = null,
        bool base64 = false,
        string stage = "$default",
        IReadOnlyDictionary<string, string>? headers = null)
    {
        var headerObject = new JsonObject { ["content-type"] = "application/json", ["host"] = "abc123.execute-api.us-east-1.amazonaws.com" };
        foreach (var (name, value) in headers ?? new Dictionary<string, string>())
        {
            headerObject[name] = value;
        }

        var document = new JsonObject
        {
            ["version"] = "2.0",
            ["routeKey"] = "$default",
            ["rawPath"] = rawPath,
            ["rawQueryString"] = "",
            ["headers"] = headerObject,
            ["requestContext"] = new JsonObject
            {
                ["accountId"] = "123456789012",
                ["apiId"] = "abc123",
                ["domainName"] = "abc123.execute-api.us-east-1.amazonaws.com",
                ["http"] = new JsonObject
                {
                    ["method"] = method,
                    ["path"] = rawPath,
                    ["protocol"] = "HTTP/1.1",
                    ["sourceIp"] = "192.0.2.1",
                    ["userAgent"] = "tests",
                },
                ["requestId"] = "req-1",
                ["routeKey"] = "$default",
                ["stage"] = stage,
                ["timeEpoch"] = 1764300000000,
            },
            ["isBase64Encoded"] = base64,
        };
        if (body is not null)
        {
            document["body"] = body;
        }

        return document.ToJsonString();
    }

    public static string Infer(string body) => Create("POST", "/v2/models/iris/infer", body);
}
