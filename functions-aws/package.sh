#!/usr/bin/env bash
# Publishes the bootstrap as Native AOT for one runtime identifier and zips it for a provided.al2023 function:
#   functions-aws/package.sh [linux-x64|linux-arm64]   ->  functions-aws/artifacts/<rid>/bootstrap.zip
# The zip holds the bootstrap executable and ONNX Runtime's libonnxruntime.so beside it; models live in S3.
set -euo pipefail

rid="${1:-linux-x64}"
here="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
out="$here/artifacts/$rid"
publish="$out/publish"

rm -rf "$publish" "$out/bootstrap.zip"
mkdir -p "$publish"
dotnet publish "$here/Serverless.Functions.Aws/Serverless.Functions.Aws.csproj" \
  -c Release -r "$rid" -o "$publish" --artifacts-path "$out/build" -p:PublishAot=true

for file in bootstrap libonnxruntime.so; do
  [[ -f "$publish/$file" ]] || { echo "publish produced no $file in $publish" >&2; exit 1; }
done

# zip(1) is not on every build machine; Python's zipfile is. Executable bits are kept (Lambda needs them on bootstrap).
python3 - "$publish" "$out/bootstrap.zip" <<'PY'
import os, sys, zipfile
publish, target = sys.argv[1], sys.argv[2]
with zipfile.ZipFile(target, "w", zipfile.ZIP_DEFLATED, compresslevel=9) as archive:
    for name in ("bootstrap", "libonnxruntime.so"):
        path = os.path.join(publish, name)
        info = zipfile.ZipInfo.from_file(path, name)
        info.compress_type = zipfile.ZIP_DEFLATED
        with open(path, "rb") as source:
            archive.writestr(info, source.read(), compresslevel=9)
PY
unzipped=$(du -cb "$publish/bootstrap" "$publish/libonnxruntime.so" | tail -1 | cut -f1)
echo "bootstrap.zip: $(stat -c %s "$out/bootstrap.zip") bytes zipped, $unzipped bytes unzipped (Lambda allows 250 MB unzipped) -> $out/bootstrap.zip"
