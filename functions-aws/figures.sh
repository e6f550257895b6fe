#!/usr/bin/env bash
# The AWS adapter's figures: cold start (process start -> first response posted to a Runtime API test server) of
# the Native AOT, the self-contained ReadyToRun and the JIT bootstrap, with the model in a local folder and in moto
# S3, against the bare baseline program (AOT and JIT); warm invocation overhead; the zip size.
# Slow (several publishes, Native AOT among them): not part of the test run.
#   functions-aws/figures.sh [runs]     (default 7)
set -euo pipefail

runs="${1:-7}"
here="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
root="$(cd "$here/.." && pwd)"
out="$here/artifacts"

"$here/package.sh" linux-x64 r2r
rm -rf "$out/r2r-x64" && cp -r "$out/linux-x64/publish" "$out/r2r-x64"
"$here/package.sh" linux-x64 aot
dotnet publish "$root/tests/Serverless.Inference.ColdStartBaseline/Serverless.Inference.ColdStartBaseline.csproj" -c Release -r linux-x64 \
  -p:PublishAot=true -p:CppCompilerAndLinker=gcc -o "$out/baseline-aot" --artifacts-path "$out/baseline-aot-build"
dotnet build "$root/tests/Serverless.Inference.ColdStartBaseline/Serverless.Inference.ColdStartBaseline.csproj" -c Release --artifacts-path "$out/baseline-jit"

AWS_FIGURES_RUNS="$runs" \
AWS_BOOTSTRAP_AOT="$out/linux-x64/publish/bootstrap" \
AWS_BOOTSTRAP_R2R="$out/r2r-x64/bootstrap" \
AWS_COLDSTART_BASELINE="$out/baseline-aot/Serverless.Inference.ColdStartBaseline;$out/baseline-jit/bin/Serverless.Inference.ColdStartBaseline/release/Serverless.Inference.ColdStartBaseline" \
  dotnet test "$root/tests/Serverless.Functions.Aws.Tests/Serverless.Functions.Aws.Tests.csproj" --artifacts-path "$out/tests" \
  --filter "Category=Figures" --logger "console;verbosity=detailed" | grep -E "cold start|warm,|Passed!|Failed!"
echo "zip: $(stat -c %s "$out/linux-x64/bootstrap.zip") bytes ($out/linux-x64/bootstrap.zip)"
