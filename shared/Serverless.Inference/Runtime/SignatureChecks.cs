namespace Serverless.Inference.Runtime;

/// <summary>Checks a request's tensors against a signature before anything runs, so a caller's mistake is a clear 400.</summary>
internal static class SignatureChecks
{
    /// <summary>Names known and unique, datatypes, ranks and fixed dimensions as the signature says, batch within the limit.</summary>
    public static void Validate(ModelSignature signature, IReadOnlyList<InputTensor> inputs, int maxBatchSize)
    {
        // Allocation-free on the hot path: models have a handful of inputs, so pairwise checks beat a set.
        for (var index = 0; index < inputs.Count; index++)
        {
            var input = inputs[index];
            var spec = signature.FindInput(input.Name)
                ?? throw InferenceException.BadRequest(
                    $"unknown input '{input.Name}'; the model's inputs are {string.Join(", ", signature.Inputs.Select(i => i.Name))}");
            if (IsRepeated(inputs, index))
            {
                throw InferenceException.BadRequest($"input '{input.Name}' is given more than once");
            }

            if (spec.DataType != input.DataType)
            {
                throw InferenceException.BadRequest(
                    $"input '{input.Name}' has datatype {input.DataType.ToProtocolName()} but the model expects {spec.DataType.ToProtocolName()}");
            }

            if (spec.Shape.Count != input.Shape.Length)
            {
                throw InferenceException.BadRequest(
                    $"input '{input.Name}' has shape [{string.Join(',', input.Shape)}] but the model expects rank {spec.Shape.Count}: [{string.Join(',', spec.Shape)}]");
            }

            for (var d = 0; d < spec.Shape.Count; d++)
            {
                if (spec.Shape[d] >= 0 && spec.Shape[d] != input.Shape[d])
                {
                    throw InferenceException.BadRequest(
                        $"input '{input.Name}' has shape [{string.Join(',', input.Shape)}] but the model expects [{string.Join(',', spec.Shape)}]");
                }

                if (spec.MaxShape is { } max && max[d] >= 0 && input.Shape[d] > max[d])
                {
                    throw new InferenceException(
                        InferenceErrorKind.PayloadTooLarge,
                        $"input '{input.Name}' has shape [{string.Join(',', input.Shape)}]: dimension {d} may be at most {max[d]} for this model (largest shape [{string.Join(',', max)}])");
                }
            }

            if (maxBatchSize > 0 && input.Shape.Length > 0 && input.Shape[0] > maxBatchSize)
            {
                throw InferenceException.BadRequest(
                    $"input '{input.Name}' holds a batch of {input.Shape[0]} but this model takes at most {maxBatchSize}");
            }
        }

        // Every input is known and none repeats, so fewer inputs than the signature means some are missing.
        if (inputs.Count < signature.Inputs.Count)
        {
            var missing = signature.Inputs.Where(spec => !inputs.Any(input => input.Name == spec.Name)).Select(spec => spec.Name);
            throw InferenceException.BadRequest($"missing input(s): {string.Join(", ", missing)}");
        }
    }

    private static bool IsRepeated(IReadOnlyList<InputTensor> inputs, int index)
    {
        for (var earlier = 0; earlier < index; earlier++)
        {
            if (inputs[earlier].Name == inputs[index].Name)
            {
                return true;
            }
        }

        return false;
    }

    public static InferenceException UnknownOutput(ModelSignature signature, string name) =>
        InferenceException.BadRequest(
            $"unknown output '{name}'; the model's outputs are {string.Join(", ", signature.Outputs.Select(o => o.Name))}");
}
