namespace Serverless.Functions.Aws.Telemetry;

/// <summary>OpenTelemetry's UCUM units as CloudWatch's unit names; an annotation such as <c>{request}</c> counts things.</summary>
internal static class EmfUnits
{
    public static string From(string? unit) => unit switch
    {
        "s" => "Seconds",
        "ms" => "Milliseconds",
        "us" => "Microseconds",
        "By" => "Bytes",
        "%" => "Percent",
        "1" => "None",
        ['{', .., '}'] => "Count",
        _ => "None",
    };
}
