namespace Serverless.Inference.Hosting;

public enum ModelState
{
    NotLoaded,
    Loading,
    Ready,
    Failed,
}
