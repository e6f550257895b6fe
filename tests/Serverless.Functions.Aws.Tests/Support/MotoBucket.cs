using Amazon.S3;
using Amazon.S3.Model;
using Serverless.Functions.Aws.Storage;

namespace Serverless.Functions.Aws.Tests.Support;

/// <summary>A fresh bucket in moto with the S3 batch store over it: what each contract suite runs against.</summary>
internal sealed class MotoBucket : IDisposable
{
    public MotoBucket(MotoServer moto, string prefix)
    {
        ArgumentNullException.ThrowIfNull(moto);
        Client = moto.CreateS3();
        Name = prefix + Guid.NewGuid().ToString("N")[..12];
        Client.PutBucketAsync(Name).GetAwaiter().GetResult();
        Store = new S3BatchStore(Client, Name);
    }

    public AmazonS3Client Client { get; }

    public string Name { get; }

    public S3BatchStore Store { get; }

    /// <summary>Writes an object behind the store's back, as another writer would.</summary>
    public Task PutAsync(string key, byte[] content) =>
        Client.PutObjectAsync(new PutObjectRequest { BucketName = Name, Key = key, InputStream = new MemoryStream(content) });

    public void Dispose() => Client.Dispose();
}
