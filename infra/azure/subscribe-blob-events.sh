#!/usr/bin/env bash
# Stage two of the Azure deployment: subscribe the ScoreBlob function to BlobCreated events of incoming/.
# Run after the app's code is deployed. The webhook URL carries the host's blobs_extension system key, which
# exists only once the Functions host has started with an Event Grid-source blob trigger; Event Grid also
# validates the endpoint when the subscription is created, so the app must be running.
#
# Usage: infra/azure/subscribe-blob-events.sh <resource-group> [params.bicepparam]   (default: main.bicepparam beside it)
# Assumes the first stage was deployed as "az deployment group create --name main ..." (see infra/README.md).
set -euo pipefail

resource_group="${1:?usage: subscribe-blob-events.sh <resource-group> [params.bicepparam]}"
script_dir="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
# Resolved before the cd below, so a path relative to the caller's directory still works.
params_file="$(realpath "${2:-$script_dir/main.bicepparam}")"
cd "$script_dir"

app_name="$(az deployment group show --resource-group "$resource_group" --name main \
  --query properties.outputs.functionAppName.value --output tsv)"
if [[ -z "$app_name" ]]; then
  echo "No function app in the 'main' deployment of $resource_group: deploy main.bicep first." >&2
  exit 1
fi

# The key appears a short while after the first start; wait for it rather than fail a fresh deployment.
attempts="${KEY_WAIT_ATTEMPTS:-30}"
interval="${KEY_WAIT_SECONDS:-10}"
for attempt in $(seq 1 "$attempts"); do
  key="$(az functionapp keys list --resource-group "$resource_group" --name "$app_name" \
    --query systemKeys.blobs_extension --output tsv 2>/dev/null || true)"
  if [[ -n "$key" ]]; then
    break
  fi
  echo "Waiting for the blobs_extension key of $app_name (attempt $attempt/$attempts): is the code deployed?" >&2
  sleep "$interval"
done
if [[ -z "${key:-}" ]]; then
  echo "The blobs_extension system key of $app_name does not exist: deploy the code (it registers ScoreBlob) and retry." >&2
  exit 1
fi

# Same template, same parameters, plus the subscription; the key itself is read by listKeys inside the deployment.
az deployment group create --resource-group "$resource_group" --name main \
  --template-file main.bicep --parameters "$params_file" --parameters subscribeBlobEvents=true \
  --query properties.outputs.blobEventsSubscribed.value --output tsv
