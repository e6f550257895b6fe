using System.CommandLine;
using Serverless.Samples.SensorModel;

var modelPath = new Argument<FileInfo?>("model")
{
    Description = "Where to write the ONNX model; default: shared/sample-models/sensor/1/model.onnx in this repository.",
    Arity = ArgumentArity.ZeroOrOne,
};
var train = new Command("train", "Train the classifier on simulated readings, export it to ONNX and write expected.json beside its version folder.") { modelPath };
train.SetAction(parse => SensorTraining.Run(parse.GetValue(modelPath)?.FullName));

var output = new Argument<FileInfo>("file") { Description = "The JSON lines file to append readings to." };
var sensors = new Option<int>("--sensors") { Description = "Pumps to simulate.", DefaultValueFactory = _ => 5 };
var failing = new Option<int>("--failing") { Description = "How many of them drift into failure.", DefaultValueFactory = _ => 1 };
var steps = new Option<int>("--steps") { Description = "Readings per pump.", DefaultValueFactory = _ => 60 };
var interval = new Option<int>("--interval-ms") { Description = "Wait between rounds (one reading of every pump); 0 writes all at once.", DefaultValueFactory = _ => 500 };
var seed = new Option<int>("--seed") { Description = "The simulation's seed.", DefaultValueFactory = _ => 7 };
sensors.Validators.Add(r => { if (r.GetValueOrDefault<int>() is < 1 or > 10_000) { r.AddError("--sensors must be between 1 and 10000"); } });
steps.Validators.Add(r => { if (r.GetValueOrDefault<int>() is < 1) { r.AddError("--steps must be at least 1"); } });
interval.Validators.Add(r => { if (r.GetValueOrDefault<int>() is < 0) { r.AddError("--interval-ms cannot be negative"); } });
var generate = new Command("generate", "Append simulated readings to a JSON lines file as they happen, one round every --interval-ms (for 'tail -f ... | infer stream').")
{
    output, sensors, failing, steps, interval, seed,
};
generate.Validators.Add(r =>
{
    if (r.GetValue(failing) is var f && (f < 0 || f > r.GetValue(sensors)))
    {
        r.AddError("--failing must be between 0 and --sensors");
    }
});
generate.SetAction((parse, cancellation) => ReadingsWriter.RunAsync(
    new GenerateSettings(parse.GetValue(output)!, parse.GetValue(sensors), parse.GetValue(failing), parse.GetValue(steps), TimeSpan.FromMilliseconds(parse.GetValue(interval)), parse.GetValue(seed)),
    TimeProvider.System,
    cancellation));

return await new RootCommand("The sensor sample: a pump failure classifier trained on simulated readings, and a generator of readings to stream.")
{
    train,
    generate,
}.Parse(args).InvokeAsync();
