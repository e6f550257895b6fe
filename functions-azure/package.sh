#!/usr/bin/env bash
# Publishes the isolated worker app for Flex Consumption (Linux, x64) and zips it for zip deploy:
#   functions-azure/package.sh [r2r|jit]  ->  functions-azure/artifacts/<mode>/app.zip (and the folder it holds, publish/)
# r2r (default): ReadyToRun for linux-x64, framework-dependent (the platform provides .NET); what to deploy.
# jit: the same without ReadyToRun (portable IL), only as the baseline of the cold-start comparison
#      (tests/Serverless.Functions.Azure.ColdStart).
# The zip holds the publish folder's contents at its root (.azurefunctions/, functions.metadata, host.json,
# worker.config.json, the app and its dependencies), the layout zip deploy expects. Models are not packaged: they
# live in the models container.
set -euo pipefail

mode="${1:-r2r}"
here="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
out="$here/artifacts/$mode"
publish="$out/publish"

case "$mode" in
  r2r) flags=(-p:PublishReadyToRun=true) ;;
  jit) flags=(-p:PublishReadyToRun=false) ;;
  *) echo "mode must be r2r or jit, not '$mode'" >&2; exit 2 ;;
esac

rm -rf "$publish" "$out/app.zip"
mkdir -p "$publish"
dotnet publish "$here/Serverless.Functions.Azure/Serverless.Functions.Azure.csproj" \
  -c Release -r linux-x64 --self-contained false -o "$publish" --artifacts-path "$out/build" "${flags[@]}"

for file in worker.config.json functions.metadata host.json Serverless.Functions.Azure.dll .azurefunctions; do
  [[ -e "$publish/$file" ]] || { echo "publish produced no $file in $publish" >&2; exit 1; }
done

# zip(1) is not on every build machine; Python's zipfile is. Hidden folders (.azurefunctions) are included.
python3 - "$publish" "$out/app.zip" "$mode" <<'PY'
import os, sys, zipfile
publish, target, mode = sys.argv[1:4]
names = sorted(
    os.path.relpath(os.path.join(folder, name), publish)
    for folder, _, files in os.walk(publish)
    for name in files
    if not name.endswith(".pdb"))
with zipfile.ZipFile(target, "w", zipfile.ZIP_DEFLATED, compresslevel=9) as archive:
    for name in names:
        archive.write(os.path.join(publish, name), name)
unzipped = sum(os.path.getsize(os.path.join(publish, name)) for name in names)
print(f"app.zip ({mode}, {len(names)} files): {os.path.getsize(target)} bytes zipped, {unzipped} bytes unzipped -> {target}")
PY
