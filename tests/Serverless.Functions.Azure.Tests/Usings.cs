global using Serverless.Functions.Azure.Tests.Support;
