global using System.Text;
global using System.Text.Json;
global using Serverless.Functions.Aws.Tests.Support;
