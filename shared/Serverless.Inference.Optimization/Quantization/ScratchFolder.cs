namespace Serverless.Inference.Optimization.Quantization;

/// <summary>A private temporary folder for the model copies ONNX Runtime reads and writes, deleted on disposal.</summary>
internal sealed class ScratchFolder : IDisposable
{
    public ScratchFolder() => Path = Directory.CreateTempSubdirectory("optimize-").FullName;

    public string Path { get; }

    public string File(string name) => System.IO.Path.Combine(Path, name);

    public void Dispose()
    {
        try
        {
            Directory.Delete(Path, recursive: true);
        }
        catch (IOException)
        {
            // A file still open (Windows) stays behind in the temp folder; the result is not affected.
        }
    }
}
