namespace Serverless.Infer.Cli.Monitor;

/// <summary>A CSV of <c>id,label</c> (a header line <c>id,label</c> is optional): the true label of each record id.</summary>
internal static class LabelsFile
{
    public static async Task<IReadOnlyDictionary<string, string>> ReadAsync(FileInfo file, CancellationToken cancellationToken)
    {
        if (!file.Exists)
        {
            throw new MonitorException(MonitorExitCodes.Unreadable, $"the labels file {file.FullName} does not exist");
        }

        var labels = new Dictionary<string, string>(StringComparer.Ordinal);
        await using var stream = file.OpenRead();
        var reader = new LineReader(stream);
        while (await reader.ReadAsync(cancellationToken) is { } line)
        {
            if (line.TooLong)
            {
                throw new MonitorException(MonitorExitCodes.Unreadable, $"{file.Name}:{reader.LineNumber}: the line is longer than {LineReader.MaxLineBytes:N0} bytes");
            }

            var fields = CsvLine.Split(line.Bytes.Span);
            if (fields is null || fields.Count == 0 || (fields.Count == 1 && fields[0].Length == 0))
            {
                if (fields is null)
                {
                    throw new MonitorException(MonitorExitCodes.Unreadable, $"{file.Name}:{reader.LineNumber}: not a CSV line");
                }

                continue;
            }

            if (fields.Count != 2)
            {
                throw new MonitorException(MonitorExitCodes.Unreadable, $"{file.Name}:{reader.LineNumber}: expected two columns, id and label; found {fields.Count}");
            }

            if (reader.LineNumber == 1 && fields[0] == "id" && fields[1] == "label")
            {
                continue;
            }

            labels[fields[0]] = fields[1];
        }

        return labels.Count > 0 ? labels : throw new MonitorException(MonitorExitCodes.Unreadable, $"the labels file {file.Name} holds no labels");
    }
}
