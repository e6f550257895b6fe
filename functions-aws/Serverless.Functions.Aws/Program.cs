using Serverless.Functions.Aws;

var settings = FunctionSettings.FromEnvironment();
return settings.RuntimeApi is null
    ? await LocalServer.RunAsync(settings, args)
    : await LambdaEntryPoint.RunAsync(settings);
