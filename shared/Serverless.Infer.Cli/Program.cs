using Serverless.Infer.Cli;

return await InferCommandLine.Build().Parse(args).InvokeAsync();
