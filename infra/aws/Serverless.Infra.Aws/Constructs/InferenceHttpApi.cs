using Amazon.CDK.AWS.Apigatewayv2;
using Amazon.CDK.AWS.Lambda;
using Amazon.CDK.AwsApigatewayv2Authorizers;
using Amazon.CDK.AwsApigatewayv2Integrations;
using Constructs;
using HttpMethod = Amazon.CDK.AWS.Apigatewayv2.HttpMethod;

namespace Serverless.Infra.Aws.Constructs;

/// <summary>HTTP API (payload 2.0) for the Open Inference Protocol routes; every route needs IAM (SigV4) or a JWT.</summary>
internal sealed class InferenceHttpApi : Construct
{
    /// <summary>The OIP routes all live under /v2 (same prefix as the Azure app's host.json).</summary>
    public const string RoutePrefix = "v2";

    public InferenceHttpApi(Construct scope, string id, IFunction handler, InferenceStackSettings settings) : base(scope, id)
    {
        IHttpRouteAuthorizer authorizer = settings.UsesJwt
            ? new HttpJwtAuthorizer("Jwt", settings.JwtIssuer!, new HttpJwtAuthorizerProps { JwtAudience = [.. settings.JwtAudience] })
            : new HttpIamAuthorizer();

        Api = new HttpApi(this, "Api", new HttpApiProps
        {
            Description = "Open Inference Protocol (KServe v2) endpoint.",
            DefaultAuthorizer = authorizer,
            CreateDefaultStage = false,
        });

        // The $default stage, with a throttle: a caller in a loop meets 429s, not an unbounded bill.
        Api.AddStage("DefaultStage", new HttpStageOptions
        {
            StageName = "$default",
            AutoDeploy = true,
            Throttle = new ThrottleSettings { RateLimit = settings.ApiRateLimit, BurstLimit = settings.ApiBurstLimit },
        });

        var integration = new HttpLambdaIntegration("Inference", handler, new HttpLambdaIntegrationProps
        {
            PayloadFormatVersion = PayloadFormatVersion.VERSION_2_0,
        });

        foreach (var path in new[] { $"/{RoutePrefix}", $"/{RoutePrefix}/{{proxy+}}" })
        {
            Api.AddRoutes(new AddRoutesOptions { Path = path, Methods = [HttpMethod.ANY], Integration = integration });
        }
    }

    public HttpApi Api { get; }
}
