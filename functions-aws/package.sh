#!/usr/bin/env bash
# Publishes the bootstrap for one runtime identifier and zips it for a provided.al2023 function:
#   functions-aws/package.sh [linux-x64|linux-arm64] [aot|r2r] [--model NAME[:VERSION]]... [--repository DIR] [--layer]
#     ->  functions-aws/artifacts/<rid>/bootstrap.zip (and models-layer.zip with --layer)
# aot (default): Native AOT, one executable named bootstrap with ONNX Runtime's libonnxruntime.so beside it.
#   ILCompiler links with gcc here (no clang); linux-arm64 needs an aarch64 cross toolchain or an arm64 machine.
#   The publish fails on any trim or AOT warning (the project treats them as errors; see its comments).
# r2r: self-contained ReadyToRun (JIT fallback): the bootstrap apphost, the runtime and the pre-compiled assemblies.
# Models live in the bucket under models/ unless packaged with the function:
#   --model NAME[:VERSION]  (repeatable) copies <repository>/NAME/model.json and the version folder VERSION (every
#                           version folder with a model.onnx when no version is given) under models/NAME/.
#   --repository DIR        the model repository they come from (default: $INFER_MODELS).
#   --layer                 put them in models-layer.zip (models/ at its root; Lambda mounts it at /opt/models) instead
#                           of bootstrap.zip (models/ beside the binary: /var/task/models).
# The function serves packaged models when INFERENCE_MODEL_DIR names their folder (the CDK stack sets it with
# -c packagedModels=true or -c modelsLayerPath=...): those models from there, every other from the bucket.
set -euo pipefail

rid=linux-x64
mode=aot
repository="${INFER_MODELS:-}"
layer=false
models=()
positional=0
while (( $# > 0 )); do
  case "$1" in
    --model) [[ $# -ge 2 ]] || { echo "--model needs NAME[:VERSION]" >&2; exit 2; }; models+=("$2"); shift 2 ;;
    --repository) [[ $# -ge 2 ]] || { echo "--repository needs a folder" >&2; exit 2; }; repository="$2"; shift 2 ;;
    --layer) layer=true; shift ;;
    -*) echo "unknown option '$1'" >&2; exit 2 ;;
    *)
      case $positional in
        0) rid="$1" ;;
        1) mode="$1" ;;
        *) echo "unexpected argument '$1'" >&2; exit 2 ;;
      esac
      positional=$((positional + 1)); shift ;;
  esac
done

here="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
out="$here/artifacts/$rid"
publish="$out/publish"

case "$mode" in
  aot) flags=(-p:PublishAot=true) ;;
  r2r) flags=(-p:PublishAot=false -p:PublishReadyToRun=true -p:PublishTrimmed=true --self-contained true) ;;
  *) echo "mode must be aot or r2r, not '$mode'" >&2; exit 2 ;;
esac
if (( ${#models[@]} > 0 )) && [[ -z "$repository" || ! -d "$repository" ]]; then
  echo "--model needs the model repository: --repository DIR (or INFER_MODELS), a folder with NAME/model.json and NAME/VERSION/model.onnx" >&2
  exit 2
fi
if [[ "$layer" == true ]] && (( ${#models[@]} == 0 )); then
  echo "--layer packages models: name them with --model NAME[:VERSION]" >&2
  exit 2
fi

rm -rf "$publish" "$out/bootstrap.zip" "$out/models-layer.zip"
mkdir -p "$publish"
log="$out/publish-$mode.log"
dotnet publish "$here/Serverless.Functions.Aws/Serverless.Functions.Aws.csproj" \
  -c Release -r "$rid" -o "$publish" --artifacts-path "$out/build-$mode" "${flags[@]}" 2>&1 | tee "$log"

# Trim and AOT warnings: only those TrimWarnings.allowed lists (by code and member) may appear; the project makes
# every other an error already, and this catches one that slipped through as a warning.
python3 - "$log" "$here/Serverless.Functions.Aws/TrimWarnings.allowed" <<'PY'
import re, sys
log, allowed_file = sys.argv[1:3]
with open(allowed_file, encoding="utf-8") as file:
    allowed = {line.strip() for line in file if line.strip() and not line.startswith("#")}
with open(log, encoding="utf-8", errors="replace") as file:
    found = {f"{code} {member}" for code, member in re.findall(r"warning (IL[23]\d{3}): (.+?): ", file.read())}
for warning in sorted(found):
    print(("allowed trim/AOT warning: " if warning in allowed else "UNEXPECTED trim/AOT warning: ") + warning)
if found - allowed:
    sys.exit("trim or AOT warnings outside functions-aws/Serverless.Functions.Aws/TrimWarnings.allowed: fix them, or add them there with the reason")
PY

for file in bootstrap libonnxruntime.so; do
  [[ -f "$publish/$file" ]] || { echo "publish produced no $file in $publish" >&2; exit 1; }
done

# zip(1) is not on every build machine; Python's zipfile is. File modes are kept (Lambda needs bootstrap executable).
python3 - "$publish" "$out" "$mode" "$repository" "$layer" "${models[@]}" <<'PY'
import json, os, re, sys, zipfile

publish, out, mode, repository, layer, *models = sys.argv[1:]
layer = layer == "true"
name_rule = re.compile(r"^[A-Za-z0-9][A-Za-z0-9_.-]{0,63}$")
limit = 250 * 1024 * 1024  # Lambda: the function's code and all its layers, unzipped


def fail(message):
    print(message, file=sys.stderr)
    sys.exit(1)


def model_files(spec):
    """(archive name, path) of one --model NAME[:VERSION], under models/NAME/."""
    name, _, version = spec.partition(":")
    for part in (name, version) if version else (name,):
        if not name_rule.match(part) or part in (".", ".."):
            fail(f"--model {spec}: names and versions are letters, digits, '.', '_' and '-' (up to 64), not '{part}'")
    folder = os.path.join(repository, name)
    manifest = os.path.join(folder, "model.json")
    if not os.path.isfile(manifest):
        fail(f"--model {spec}: {manifest} does not exist")
    versions = [version] if version else sorted(
        v for v in os.listdir(folder) if os.path.isfile(os.path.join(folder, v, "model.onnx")))
    for v in versions:
        if not os.path.isfile(os.path.join(folder, v, "model.onnx")):
            fail(f"--model {spec}: {os.path.join(folder, v, 'model.onnx')} does not exist")
    if not versions:
        fail(f"--model {spec}: {folder} has no version folder with a model.onnx")
    with open(manifest, encoding="utf-8") as file:
        document = json.load(file)
    named = [document.get("default_version")] + list((document.get("aliases") or {}).values())
    for missing in sorted({v for v in named if v and v not in versions and v not in (document.get("aliases") or {})}):
        print(f"warning: --model {spec}: model.json names version {missing}, which is not packaged: requests for it will fail",
              file=sys.stderr)
    files = [(f"models/{name}/model.json", manifest)]
    for v in versions:
        for root, _, names in os.walk(os.path.join(folder, v)):
            for file_name in sorted(names):
                path = os.path.join(root, file_name)
                files.append(("models/" + os.path.relpath(path, repository).replace(os.sep, "/"), path))
    return files


def write(target, files):
    with zipfile.ZipFile(target, "w", zipfile.ZIP_DEFLATED, compresslevel=9) as archive:
        for name, path in files:
            info = zipfile.ZipInfo.from_file(path, name)
            info.compress_type = zipfile.ZIP_DEFLATED
            with open(path, "rb") as source:
                archive.writestr(info, source.read(), compresslevel=9)
    return os.path.getsize(target), sum(os.path.getsize(path) for _, path in files)


if mode == "aot":
    names = ["bootstrap", "libonnxruntime.so"]
else:
    names = sorted(
        os.path.relpath(os.path.join(folder, name), publish)
        for folder, _, files in os.walk(publish)
        for name in files
        if not name.endswith((".pdb", ".dbg")))
code = [(name, os.path.join(publish, name)) for name in names]
packaged = [entry for spec in models for entry in model_files(spec)]
if len({name for name, _ in packaged}) != len(packaged):
    fail("a model is named twice in --model")

zipped, unzipped = write(os.path.join(out, "bootstrap.zip"), code if layer else code + packaged)
print(f"bootstrap.zip ({mode}, {len(code) if layer else len(code) + len(packaged)} files): {zipped} bytes zipped, "
      f"{unzipped} bytes unzipped -> {os.path.join(out, 'bootstrap.zip')}")
total = unzipped
if layer:
    layer_zipped, layer_unzipped = write(os.path.join(out, "models-layer.zip"), packaged)
    total += layer_unzipped
    print(f"models-layer.zip ({len(packaged)} files): {layer_zipped} bytes zipped, {layer_unzipped} bytes unzipped "
          f"-> {os.path.join(out, 'models-layer.zip')}")
if packaged:
    print("packaged models: " + ", ".join(models) + (" (layer: /opt/models)" if layer else " (/var/task/models)"))
print(f"unzipped total {total / 1048576:.1f} MiB of Lambda's 250 MiB (function code and layers together)")
if total > limit:
    fail(f"the function would be {total} bytes unzipped, over Lambda's {limit}: package fewer models or keep them in the bucket")
PY
