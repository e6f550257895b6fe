using Amazon.CDK;
using Amazon.CDK.AWS.IAM;
using Amazon.CDK.AWS.S3;
using Amazon.CDK.AWS.SQS;
using Constructs;
using Serverless.Functions.Aws;

namespace Serverless.Infra.Aws.Constructs;

/// <summary>The one bucket: models/, incoming/, outgoing/, failed/. Private, encrypted, TLS only, versioned.</summary>
internal sealed class InferenceBucket : Construct
{
    public InferenceBucket(Construct scope, string id) : base(scope, id)
    {
        Bucket = new Bucket(this, "Bucket", new BucketProps
        {
            BlockPublicAccess = BlockPublicAccess.BLOCK_ALL,
            ObjectOwnership = ObjectOwnership.BUCKET_OWNER_ENFORCED,
            Encryption = BucketEncryption.S3_MANAGED,
            EnforceSSL = true,
            Versioned = true,
            // Models and results are the user's data: a stack deletion leaves the bucket behind.
            RemovalPolicy = RemovalPolicy.RETAIN,
            LifecycleRules =
            [
                new LifecycleRule
                {
                    Id = "expire-old-versions",
                    NoncurrentVersionExpiration = Duration.Days(30),
                    AbortIncompleteMultipartUploadAfter = Duration.Days(7),
                },
            ],
        });
    }

    public Bucket Bucket { get; }

    /// <summary>
    /// New objects under incoming/ only, so results under outgoing/ never trigger again. Declared on the bucket
    /// itself rather than through AddEventNotification: that helper deploys a python3.11 custom-resource Lambda
    /// in this CDK version, a runtime AWS no longer lets you create (cfn-lint E2533).
    /// </summary>
    public void NotifyIncoming(Queue queue)
    {
        var stack = Stack.Of(this);
        queue.AddToResourcePolicy(new PolicyStatement(new PolicyStatementProps
        {
            Sid = "AllowS3ObjectCreatedFromThisAccount",
            Principals = [new ServicePrincipal("s3.amazonaws.com")],
            Actions = ["sqs:SendMessage"],
            Resources = [queue.QueueArn],
            // aws:SourceAccount rather than the bucket's ARN: the bucket depends on this policy, so naming it here would be a cycle.
            Conditions = new Dictionary<string, object>
            {
                ["StringEquals"] = new Dictionary<string, object> { ["aws:SourceAccount"] = stack.Account },
            },
        }));

        var bucket = (CfnBucket)Bucket.Node.DefaultChild!;
        bucket.NotificationConfiguration = new CfnBucket.NotificationConfigurationProperty
        {
            QueueConfigurations = new object[]
            {
                new CfnBucket.QueueConfigurationProperty
                {
                    Event = "s3:ObjectCreated:*",
                    Queue = queue.QueueArn,
                    Filter = new CfnBucket.NotificationFilterProperty
                    {
                        S3Key = new CfnBucket.S3KeyFilterProperty
                        {
                            Rules = new object[] { new CfnBucket.FilterRuleProperty { Name = "prefix", Value = LambdaContract.IncomingPrefix } },
                        },
                    },
                },
            },
        };

        // S3 checks that it may publish when the configuration is written: the queue policy must exist first.
        bucket.Node.AddDependency(queue.Node.FindChild("Policy"));
    }

    /// <summary>
    /// Least privilege for the batch function, written out statement by statement (the same as functions-aws/template.yaml):
    /// read the four prefixes, write outgoing/ and failed/, delete under incoming/ (an input moved to failed/) and under
    /// outgoing/ (a sharded run's parts, plan and progress once merged), abort its own multipart uploads under outgoing/
    /// (a merge that failed), and list only keys under the four prefixes (the models' folders, the sweep's listing of
    /// incoming/, a run's parts).
    /// Reads cover outgoing/ and failed/ because the batch runner HEADs existing results (a file delivered twice is
    /// scored once), reads plans and parts, and keeps its retry counters under failed/. The listing covers them too:
    /// S3 answers a HEAD of a missing key with 404 only to a caller that may list that key's prefix, and 403 otherwise,
    /// which would fail every first delivery.
    /// Deletes under outgoing/ cannot be narrowed to run folders by a pattern (a model name may hold a dot), and every
    /// delete the runner makes is conditional on the ETag it read (If-Match).
    /// </summary>
    public void GrantBatch(IGrantable batch)
    {
        string[] prefixes = [LambdaContract.ModelsPrefix, LambdaContract.IncomingPrefix, LambdaContract.OutgoingPrefix, LambdaContract.FailedPrefix];
        var principal = batch.GrantPrincipal;

        principal.AddToPrincipalPolicy(ObjectStatement("ReadContractPrefixes", "s3:GetObject", prefixes));
        principal.AddToPrincipalPolicy(ObjectStatement("WriteResultsAndFailures", "s3:PutObject", LambdaContract.OutgoingPrefix, LambdaContract.FailedPrefix));
        principal.AddToPrincipalPolicy(ObjectStatement("DeleteMovedInputs", "s3:DeleteObject", LambdaContract.IncomingPrefix));
        principal.AddToPrincipalPolicy(ObjectStatement("DeleteRunFiles", "s3:DeleteObject", LambdaContract.OutgoingPrefix));
        principal.AddToPrincipalPolicy(ObjectStatement("AbortMergeUploads", "s3:AbortMultipartUpload", LambdaContract.OutgoingPrefix));
        principal.AddToPrincipalPolicy(ListStatement(prefixes));
    }

    /// <summary>The HTTP function only serves models: read and list under models/, nothing else in the bucket.</summary>
    public void GrantModelReads(IGrantable http)
    {
        var principal = http.GrantPrincipal;
        principal.AddToPrincipalPolicy(ObjectStatement("ReadModels", "s3:GetObject", LambdaContract.ModelsPrefix));
        principal.AddToPrincipalPolicy(ListStatement([LambdaContract.ModelsPrefix], "ListModels"));
    }

    /// <summary>
    /// The stream function: read models/, and read, create, delete and list only its own two prefixes: predictions/ (one
    /// object per batch, create-only) and stream-state/ (per-key state generations and alert markers). Listing covers
    /// them because S3 answers a HEAD of a missing key with 404 only to a caller that may list that key's prefix.
    /// </summary>
    public void GrantStream(IGrantable stream)
    {
        string[] own = [LambdaContract.PredictionsPrefix, LambdaContract.StreamStatePrefix];
        var principal = stream.GrantPrincipal;
        principal.AddToPrincipalPolicy(ObjectStatement("ReadModels", "s3:GetObject", LambdaContract.ModelsPrefix));
        principal.AddToPrincipalPolicy(new PolicyStatement(new PolicyStatementProps
        {
            Sid = "ReadWriteStreamObjects",
            Actions = ["s3:GetObject", "s3:PutObject", "s3:DeleteObject"],
            Resources = [.. own.Select(prefix => Bucket.ArnForObjects(prefix + "*"))],
        }));
        principal.AddToPrincipalPolicy(ListStatement([LambdaContract.ModelsPrefix, .. own], "ListStreamPrefixes"));
    }

    /// <summary>Prediction capture: create objects under capture/, never read, list or delete them.</summary>
    public void GrantCaptureWrites(IGrantable function) =>
        function.GrantPrincipal.AddToPrincipalPolicy(ObjectStatement("WriteCapture", "s3:PutObject", LambdaContract.CapturePrefix));

    private PolicyStatement ListStatement(string[] prefixes, string sid = "ListContractPrefixes") => new(new PolicyStatementProps
    {
        Sid = sid,
        Actions = ["s3:ListBucket"],
        Resources = [Bucket.BucketArn],
        Conditions = new Dictionary<string, object>
        {
            ["StringLike"] = new Dictionary<string, object> { ["s3:prefix"] = prefixes.Select(prefix => prefix + "*").ToArray() },
        },
    });

    private PolicyStatement ObjectStatement(string sid, string action, params string[] prefixes) => new(new PolicyStatementProps
    {
        Sid = sid,
        Actions = [action],
        Resources = [.. prefixes.Select(prefix => Bucket.ArnForObjects(prefix + "*"))],
    });
}
