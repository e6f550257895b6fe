using Serverless.Inference.Runtime;

namespace Serverless.Inference.Optimization.Reports;

/// <summary>Compares the outputs two models gave for the same rows.</summary>
internal static class OutputComparer
{
    public static IReadOnlyList<OutputDifference> Compare(IReadOnlyList<CapturedOutput> source, IReadOnlyList<CapturedOutput> variant)
    {
        var missing = source.Select(s => s.Name).Except(variant.Select(v => v.Name), StringComparer.Ordinal).ToList();
        if (missing.Count > 0)
        {
            throw new OptimizationException($"the variant lacks the output(s) {string.Join(", ", missing)}: callers would see a change");
        }

        // Score vectors stand for the decision only when the model gives no label of its own.
        var hasLabels = source.Any(output => IsLabel(output.DataType));
        return [.. source.Select(s => Compare(s, variant.First(v => v.Name == s.Name), argmaxAgreement: !hasLabels))];
    }

    public static OutputDifference Compare(CapturedOutput source, CapturedOutput variant, bool argmaxAgreement)
    {
        if (source.DataType != variant.DataType)
        {
            throw new OptimizationException(
                $"the variant's output '{source.Name}' is {variant.DataType.ToProtocolName()}, the source's {source.DataType.ToProtocolName()}: callers would see a change");
        }

        if (source.Rows != variant.Rows)
        {
            throw new OptimizationException($"the variant gave {variant.Rows} rows of '{source.Name}', the source {source.Rows}");
        }

        var datatype = source.DataType.ToProtocolName();
        if (source.DataType == TensorDataType.Bytes)
        {
            var same = source.Strings.Zip(variant.Strings).Count(pair => pair.First.FirstOrDefault() == pair.Second.FirstOrDefault());
            return new OutputDifference(source.Name, datatype, source.Rows, null, null, null, null, Share(same, source.Rows));
        }

        double max = 0, sum = 0, cosineSum = 0, cosineMin = double.PositiveInfinity;
        long elements = 0;
        int agreeing = 0, vectors = 0;
        for (var row = 0; row < source.Rows; row++)
        {
            var (a, b) = (source.Numbers[row], variant.Numbers[row]);
            if (a.Length != b.Length)
            {
                throw new OptimizationException($"row {row + 1} of '{source.Name}' has {b.Length} values from the variant, {a.Length} from the source");
            }

            for (var i = 0; i < a.Length; i++)
            {
                var difference = Math.Abs(a[i] - b[i]);
                max = double.IsNaN(difference) || difference > max ? difference : max;
                sum += difference;
            }

            elements += a.Length;
            if (a.Length > 1 && IsFloat(source.DataType))
            {
                var cosine = Cosine(a, b);
                cosineSum += cosine;
                cosineMin = double.IsNaN(cosine) ? cosine : Math.Min(cosineMin, cosine);
                vectors++;
            }

            if (IsLabel(source.DataType) ? a.Length > 0 && a[0] == b[0] : a.Length > 1 && ArgMax(a) == ArgMax(b))
            {
                agreeing++;
            }
        }

        var agreement = IsLabel(source.DataType) || (argmaxAgreement && vectors > 0) ? Share(agreeing, source.Rows) : (double?)null;
        return new OutputDifference(
            source.Name,
            datatype,
            source.Rows,
            elements == 0 ? null : max,
            elements == 0 ? null : sum / elements,
            vectors == 0 ? null : cosineSum / vectors,
            vectors == 0 ? null : cosineMin,
            agreement);
    }

    /// <summary>1 when both vectors are zero (nothing changed), 0 when only one is.</summary>
    internal static double Cosine(double[] a, double[] b)
    {
        double dot = 0, normA = 0, normB = 0;
        for (var i = 0; i < a.Length; i++)
        {
            dot += a[i] * b[i];
            normA += a[i] * a[i];
            normB += b[i] * b[i];
        }

        return normA == 0 && normB == 0 ? 1 : normA == 0 || normB == 0 ? 0 : dot / (Math.Sqrt(normA) * Math.Sqrt(normB));
    }

    private static int ArgMax(double[] values)
    {
        var best = 0;
        for (var i = 1; i < values.Length; i++)
        {
            best = values[i] > values[best] ? i : best;
        }

        return best;
    }

    private static double? Share(int count, int of) => of == 0 ? null : (double)count / of;

    private static bool IsFloat(TensorDataType type) => type is TensorDataType.Fp16 or TensorDataType.Fp32 or TensorDataType.Fp64;

    private static bool IsLabel(TensorDataType type) => type is not (TensorDataType.Fp16 or TensorDataType.Fp32 or TensorDataType.Fp64);
}
