namespace Serverless.Inference.Streaming;

public enum StreamResultKind
{
    /// <summary>The record was a row: <see cref="StreamResult.Json"/> is its outputs object.</summary>
    Outputs,

    /// <summary>The record was an OIP inference request: <see cref="StreamResult.Json"/> is the OIP response.</summary>
    Response,

    /// <summary>The record could not be scored: <see cref="StreamResult.Message"/> says why. The rest of the batch goes on.</summary>
    Error,

    /// <summary>Not scored, by the stream's rules: its key's window is still filling, or a windowed record came out of order.</summary>
    Skipped,
}
