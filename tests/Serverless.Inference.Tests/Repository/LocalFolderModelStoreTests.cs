using System.Security.Cryptography;
using Serverless.Inference.Repository;
using Serverless.Inference.Tests.Hosting.Support;

namespace Serverless.Inference.Tests.Repository;

public sealed class LocalFolderModelStoreTests : IDisposable
{
    private readonly HostTestRepository _repository = new();
    private readonly LocalFolderModelStore _store;

    public LocalFolderModelStoreTests()
    {
        _store = new LocalFolderModelStore(_repository.Root);
    }

    public void Dispose() => _repository.Dispose();

    [Fact]
    public async Task StatAsync_ExistingFile_IdentityIsTheSha256OfItsContent()
    {
        var content = OnnxTestModels.Identity(OnnxElementType.Float);
        _repository.Model("m", "1", content);

        var file = await _store.StatAsync(ModelFilePath.Onnx("m", "1"), CancellationToken.None);

        Assert.NotNull(file);
        Assert.Equal(Sha256(content), file.Identity);
        Assert.Equal(content.Length, file.Length);
        Assert.Equal(ModelFilePath.Onnx("m", "1"), file.Path);
    }

    [Fact]
    public async Task StatAsync_ContentChanged_IdentityFollowsTheNewContent()
    {
        var path = ModelFilePath.Onnx("m", "1");
        _repository.Model("m", "1", [1, 2, 3]);
        var before = await _store.StatAsync(path, CancellationToken.None);

        _repository.Model("m", "1", [1, 2, 3, 4]);
        var after = await _store.StatAsync(path, CancellationToken.None);

        Assert.Equal(Sha256([1, 2, 3, 4]), after!.Identity);
        Assert.NotEqual(before!.Identity, after.Identity);
    }

    [Fact]
    public async Task StatAsync_SameLengthContentWrittenLater_IdentityFollowsTheNewContent()
    {
        var path = ModelFilePath.Onnx("m", "1");
        _repository.Model("m", "1", [1, 2, 3]);
        var before = await _store.StatAsync(path, CancellationToken.None);
        var written = File.GetLastWriteTimeUtc(_repository.ModelPath("m", "1"));

        _repository.Model("m", "1", [9, 9, 9]);
        File.SetLastWriteTimeUtc(_repository.ModelPath("m", "1"), written.AddSeconds(1));
        var after = await _store.StatAsync(path, CancellationToken.None);

        Assert.Equal(Sha256([9, 9, 9]), after!.Identity);
        Assert.NotEqual(before!.Identity, after.Identity);
    }

    [Fact]
    public async Task StatAsync_SameContentInAnotherStore_SameIdentity()
    {
        _repository.Model("m", "1", [5, 6, 7]);

        var first = await _store.StatAsync(ModelFilePath.Onnx("m", "1"), CancellationToken.None);
        var second = await new LocalFolderModelStore(_repository.Root).StatAsync(ModelFilePath.Onnx("m", "1"), CancellationToken.None);

        Assert.Equal(first!.Identity, second!.Identity);
    }

    [Fact]
    public async Task StatAsync_MissingFile_ReturnsNull()
    {
        Assert.Null(await _store.StatAsync(ModelFilePath.Onnx("m", "1"), CancellationToken.None));
        Assert.Null(await _store.StatAsync(ModelFilePath.Manifest("m"), CancellationToken.None));
    }

    [Fact]
    public async Task ListModelsAsync_OnlyValidlyNamedFoldersWithAManifest_InOrdinalOrder()
    {
        _repository.Manifest("beta", "{}").Manifest("Alpha", "{}").Manifest("alpha", "{}");
        _repository.Manifest(".hidden", "{}").Manifest("_under", "{}").Manifest("with space", "{}").Manifest("modèle", "{}");
        Directory.CreateDirectory(Path.Combine(_repository.Root, "no-manifest", "1"));
        File.WriteAllBytes(Path.Combine(_repository.Root, "no-manifest", "1", "model.onnx"), [1]);
        File.WriteAllText(Path.Combine(_repository.Root, "loose-file"), "{}");

        var models = await _store.ListModelsAsync(CancellationToken.None);

        Assert.Equal(["Alpha", "alpha", "beta"], models);
    }

    [Fact]
    public async Task ListVersionsAsync_OnlyValidlyNamedFoldersWithAModelFile()
    {
        _repository.Model("m", "1", [1]).Model("m", "2", [2]).Model("m", "v3.beta", [3]);
        _repository.Model("m", ".staging", [4]).Model("m", "with space", [5]).Model("m", "-1", [6]);
        Directory.CreateDirectory(Path.Combine(_repository.Root, "m", "4"));
        File.WriteAllText(Path.Combine(_repository.Root, "m", "4", "README.md"), "not a model");

        var versions = await _store.ListVersionsAsync("m", CancellationToken.None);

        Assert.Equal(["1", "2", "v3.beta"], versions.Order(StringComparer.Ordinal));
    }

    [Fact]
    public async Task ListVersionsAsync_UnknownModel_IsEmpty()
    {
        Assert.Empty(await _store.ListVersionsAsync("nope", CancellationToken.None));
    }

    [Fact]
    public async Task ListVersionsAsync_InvalidModelName_IsBadRequest()
    {
        var failure = await Assert.ThrowsAsync<InferenceException>(() => _store.ListVersionsAsync("..", CancellationToken.None));

        Assert.Equal(InferenceErrorKind.BadRequest, failure.Kind);
    }

    [Fact]
    public async Task ListModelsAsync_MissingRoot_IsUnavailable()
    {
        var store = new LocalFolderModelStore(Path.Combine(_repository.Root, "does-not-exist"));

        var failure = await Assert.ThrowsAsync<InferenceException>(() => store.ListModelsAsync(CancellationToken.None));

        Assert.Equal(InferenceErrorKind.Unavailable, failure.Kind);
        Assert.Equal("the model repository folder does not exist", failure.Message);
        Assert.EndsWith("does-not-exist", failure.Detail, StringComparison.Ordinal);
    }

    [Fact]
    public async Task OpenReadAsync_ExistingFile_ReadsItsContent()
    {
        _repository.Manifest("m", """{ "warmup": true }""");

        await using var stream = await _store.OpenReadAsync(ModelFilePath.Manifest("m"), CancellationToken.None);
        using var reader = new StreamReader(stream);

        Assert.Equal("""{ "warmup": true }""", await reader.ReadToEndAsync());
    }

    [Fact]
    public void GetLocalPath_MapsRepositoryPathsUnderTheRoot()
    {
        Assert.Equal(Path.Combine(Path.GetFullPath(_repository.Root), "m", "model.json"), _store.GetLocalPath(ModelFilePath.Manifest("m")));
        Assert.Equal(Path.Combine(Path.GetFullPath(_repository.Root), "m", "7", "model.onnx"), _store.GetLocalPath(ModelFilePath.Onnx("m", "7")));
    }

    private static string Sha256(byte[] content) => "sha256:" + Convert.ToHexStringLower(SHA256.HashData(content));
}
