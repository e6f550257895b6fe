using System.Text;
using System.Text.Unicode;

namespace Serverless.Infer.Cli.Monitor;

/// <summary>The fields of one CSV line (RFC 4180 quoting within the line; a record per line).</summary>
internal static class CsvLine
{
    /// <summary>The fields, or null when the line is not valid UTF-8 or a quote is left open.</summary>
    public static List<string>? Split(ReadOnlySpan<byte> line)
    {
        if (!Utf8.IsValid(line))
        {
            return null;
        }

        var text = Encoding.UTF8.GetString(line);
        var fields = new List<string>();
        var field = new StringBuilder();
        var quoted = false;
        for (var i = 0; i < text.Length; i++)
        {
            var c = text[i];
            if (quoted)
            {
                if (c != '"')
                {
                    field.Append(c);
                }
                else if (i + 1 < text.Length && text[i + 1] == '"')
                {
                    field.Append('"');
                    i++;
                }
                else
                {
                    quoted = false;
                }
            }
            else if (c == '"')
            {
                quoted = true;
            }
            else if (c == ',')
            {
                fields.Add(field.ToString());
                field.Clear();
            }
            else
            {
                field.Append(c);
            }
        }

        if (quoted)
        {
            return null;
        }

        fields.Add(field.ToString());
        return fields;
    }
}
