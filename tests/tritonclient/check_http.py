"""Runs Triton's own Python HTTP client (tritonclient.http, unchanged) against a running `infer serve`.

Not part of `dotnet test`: tritonclient is not in the package feeds the test machines reach. How to run it
(Debian 12): apt-get install python3-geventhttpclient python3-gevent python3-rapidjson python3-numpy;
take src/python/library/tritonclient from github.com/triton-inference-server/client; start
`dotnet run --project shared/Serverless.Infer.Cli -- serve` and run
PYTHONPATH=<that library folder> python3 tests/tritonclient/check_http.py 127.0.0.1:8080
"""

import sys

import numpy as np
import tritonclient.http as httpclient

url = sys.argv[1] if len(sys.argv) > 1 else "127.0.0.1:8080"
client = httpclient.InferenceServerClient(url)
checks = 0


def check(condition, what):
    global checks
    if not condition:
        sys.exit(f"FAILED: {what}")
    checks += 1
    print(f"ok  {what}")


check(client.is_server_live() and client.is_server_ready(), "is_server_live, is_server_ready")
metadata = client.get_server_metadata()
check({"binary_tensor_data", "model_configuration", "model_repository", "statistics"} <= set(metadata["extensions"]),
      f"get_server_metadata advertises the extensions: {metadata['extensions']}")

config = client.get_model_config("iris")
check(config["max_batch_size"] == 1024 and config["input"][0]["name"] == "Features"
      and config["input"][0]["data_type"] == "TYPE_FP32" and [int(d) for d in config["input"][0]["dims"]] == [4],
      f"get_model_config('iris'): max_batch_size {config['max_batch_size']}, input {config['input'][0]}")
text_config = client.get_model_config("minilm")
check(text_config["input"][0]["data_type"] == "TYPE_STRING", f"get_model_config('minilm'): input {text_config['input'][0]}")

client.unload_model("iris")
index = {entry["name"]: entry for entry in client.get_model_repository_index()}
check("iris" in index and index["iris"].get("state") != "READY", f"unload_model, then the index: {index['iris']}")
client.load_model("iris")
index = {entry["name"]: entry for entry in client.get_model_repository_index()}
check(client.is_model_ready("iris") and index["iris"].get("state") == "READY", f"load_model, then the index: {index['iris']}")

rows = np.array([[5.1, 3.5, 1.4, 0.2], [6.3, 3.3, 6.0, 2.5]], dtype=np.float32)
for request_compression, response_compression in [(None, None), ("gzip", "gzip"), ("deflate", "deflate"), ("gzip", None), (None, "deflate")]:
    features = httpclient.InferInput("Features", list(rows.shape), "FP32")
    features.set_data_from_numpy(rows, binary_data=True)
    outputs = [httpclient.InferRequestedOutput("Score.output", binary_data=True),
               httpclient.InferRequestedOutput("PredictedLabel.output", binary_data=False)]
    result = client.infer("iris", [features], outputs=outputs,
                          request_compression_algorithm=request_compression, response_compression_algorithm=response_compression)
    labels = [label.decode() if isinstance(label, bytes) else label for label in result.as_numpy("PredictedLabel.output").reshape(-1)]
    scores = result.as_numpy("Score.output")
    check(labels == ["setosa", "virginica"] and scores.shape == (2, 3),
          f"infer iris, request {request_compression}, response {response_compression}: {labels}")

texts = np.array([b"eating food", b"eating bread"], dtype=np.object_)
for compression in [None, "gzip", "deflate"]:
    text = httpclient.InferInput("text", [2], "BYTES")
    text.set_data_from_numpy(texts, binary_data=True)
    result = client.infer("minilm", [text], outputs=[httpclient.InferRequestedOutput("embedding", binary_data=True)],
                          request_compression_algorithm=compression, response_compression_algorithm=compression)
    embedding = result.as_numpy("embedding")
    norms = np.linalg.norm(embedding, axis=1)
    cosine = float(embedding[0] @ embedding[1])
    check(embedding.shape == (2, 384) and np.allclose(norms, 1, atol=1e-4) and 0.6 < cosine < 0.8,
          f"infer minilm (BYTES in, binary out), compression {compression}: shape {embedding.shape}, cosine {cosine:.3f}")

stats = client.get_inference_statistics("iris")["model_stats"]
iris = stats[0]
check(len(stats) == 1 and iris["inference_count"] >= 10 and iris["inference_stats"]["success"]["count"] >= 5
      and iris["inference_stats"]["compute_infer"]["ns"] > 0 and iris["batch_stats"][0]["batch_size"] == 2,
      f"get_inference_statistics('iris'): inference_count {iris['inference_count']}, execution_count {iris['execution_count']}")
everything = client.get_inference_statistics()["model_stats"]
check({"iris", "minilm"} <= {model["name"] for model in everything}, f"get_inference_statistics(): {[m['name'] for m in everything]}")
check(client.get_inference_statistics("minilm", "1")["model_stats"][0]["version"] == "1", "get_inference_statistics('minilm', '1')")

print(f"all {checks} checks passed")
