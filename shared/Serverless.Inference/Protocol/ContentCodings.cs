using System.Globalization;
using Serverless.Inference.Repository;

namespace Serverless.Inference.Protocol;

/// <summary>Reads <c>Content-Encoding</c> on requests and negotiates <c>Accept-Encoding</c> for responses.</summary>
internal static class ContentCodings
{
    /// <summary>What a 415 answer offers, as Triton does, in its <c>Accept-Encoding</c> header.</summary>
    public const string Supported = "gzip, deflate";

    public static string Name(this ContentCoding coding) => coding switch
    {
        ContentCoding.Gzip => "gzip",
        ContentCoding.Deflate => "deflate",
        _ => "identity",
    };

    /// <summary>The coding of a request body; a single coding only, as every Triton client sends.</summary>
    public static ContentCoding OfRequest(string? header)
    {
        var value = header?.Trim() ?? "";
        return value.Length == 0 || value.Equals("identity", StringComparison.OrdinalIgnoreCase) ? ContentCoding.Identity
            : value.Equals("gzip", StringComparison.OrdinalIgnoreCase) || value.Equals("x-gzip", StringComparison.OrdinalIgnoreCase) ? ContentCoding.Gzip
            : value.Equals("deflate", StringComparison.OrdinalIgnoreCase) ? ContentCoding.Deflate
            : throw new InferenceException(
                InferenceErrorKind.UnsupportedMediaType,
                $"Content-Encoding '{ModelNames.Printable(value)}' is not supported; send gzip, deflate (zlib) or identity");
    }

    /// <summary>
    /// The coding to answer with: the highest q-value among gzip and deflate (gzip on a tie; <c>*</c> stands for those not
    /// named), unless identity is preferred over it. No header, or nothing acceptable but identity, is identity.
    /// </summary>
    public static ContentCoding Negotiate(string? acceptEncoding)
    {
        if (string.IsNullOrWhiteSpace(acceptEncoding))
        {
            return ContentCoding.Identity;
        }

        double? gzip = null, deflate = null, identity = null, any = null;
        foreach (var item in acceptEncoding.Split(',', StringSplitOptions.RemoveEmptyEntries | StringSplitOptions.TrimEntries))
        {
            var parts = item.Split(';', StringSplitOptions.TrimEntries);
            var q = Weight(parts.AsSpan(1));
            switch (parts[0].ToLowerInvariant())
            {
                case "gzip" or "x-gzip":
                    gzip = Math.Max(gzip ?? 0, q);
                    break;
                case "deflate":
                    deflate = Math.Max(deflate ?? 0, q);
                    break;
                case "identity":
                    identity = q;
                    break;
                case "*":
                    any = q;
                    break;
            }
        }

        var gzipQ = gzip ?? any ?? 0;
        var deflateQ = deflate ?? any ?? 0;
        var identityQ = identity ?? any ?? 1;
        var (best, bestQ) = gzipQ >= deflateQ ? (ContentCoding.Gzip, gzipQ) : (ContentCoding.Deflate, deflateQ);
        return bestQ > 0 && bestQ >= identityQ ? best : ContentCoding.Identity;
    }

    /// <summary>The <c>q</c> parameter, 1 when absent; a malformed one makes the coding unacceptable.</summary>
    private static double Weight(ReadOnlySpan<string> parameters)
    {
        foreach (var parameter in parameters)
        {
            if (parameter.StartsWith("q=", StringComparison.OrdinalIgnoreCase))
            {
                return double.TryParse(parameter.AsSpan(2), NumberStyles.AllowDecimalPoint, CultureInfo.InvariantCulture, out var q) && q <= 1 ? q : 0;
            }
        }

        return 1;
    }
}
