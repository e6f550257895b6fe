#!/usr/bin/env bash
# Publishes the bootstrap for one runtime identifier and zips it for a provided.al2023 function:
#   functions-aws/package.sh [linux-x64|linux-arm64] [aot|r2r]  ->  functions-aws/artifacts/<rid>/bootstrap.zip
# aot (default): Native AOT, one executable named bootstrap with ONNX Runtime's libonnxruntime.so beside it.
#   ILCompiler links with gcc here (no clang); linux-arm64 needs an aarch64 cross toolchain or an arm64 machine.
# r2r: self-contained ReadyToRun (JIT fallback): the bootstrap apphost, the runtime and the pre-compiled assemblies.
# Models are not packaged: they live in the bucket under models/.
set -euo pipefail

rid="${1:-linux-x64}"
mode="${2:-aot}"
here="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
out="$here/artifacts/$rid"
publish="$out/publish"

case "$mode" in
  aot) flags=(-p:PublishAot=true) ;;
  r2r) flags=(-p:PublishAot=false -p:PublishReadyToRun=true -p:PublishTrimmed=true --self-contained true) ;;
  *) echo "mode must be aot or r2r, not '$mode'" >&2; exit 2 ;;
esac

rm -rf "$publish" "$out/bootstrap.zip"
mkdir -p "$publish"
dotnet publish "$here/Serverless.Functions.Aws/Serverless.Functions.Aws.csproj" \
  -c Release -r "$rid" -o "$publish" --artifacts-path "$out/build-$mode" "${flags[@]}"

for file in bootstrap libonnxruntime.so; do
  [[ -f "$publish/$file" ]] || { echo "publish produced no $file in $publish" >&2; exit 1; }
done

# zip(1) is not on every build machine; Python's zipfile is. File modes are kept (Lambda needs bootstrap executable).
python3 - "$publish" "$out/bootstrap.zip" "$mode" <<'PY'
import os, sys, zipfile
publish, target, mode = sys.argv[1:4]
if mode == "aot":
    names = ["bootstrap", "libonnxruntime.so"]
else:
    names = sorted(
        os.path.relpath(os.path.join(folder, name), publish)
        for folder, _, files in os.walk(publish)
        for name in files
        if not name.endswith((".pdb", ".dbg")))
with zipfile.ZipFile(target, "w", zipfile.ZIP_DEFLATED, compresslevel=9) as archive:
    for name in names:
        path = os.path.join(publish, name)
        info = zipfile.ZipInfo.from_file(path, name)
        info.compress_type = zipfile.ZIP_DEFLATED
        with open(path, "rb") as source:
            archive.writestr(info, source.read(), compresslevel=9)
unzipped = sum(os.path.getsize(os.path.join(publish, name)) for name in names)
print(f"bootstrap.zip ({mode}, {len(names)} files): {os.path.getsize(target)} bytes zipped, {unzipped} bytes unzipped "
      f"(Lambda allows 250 MB unzipped) -> {target}")
PY
