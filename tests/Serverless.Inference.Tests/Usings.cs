global using Serverless.Inference.TestModels;
