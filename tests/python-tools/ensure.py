"""Makes moto_server and cfn-lint, at the versions pinned in requirements.txt, available to the tests.

Run by the build (PythonTools.proj) from the repository root: does nothing when PATH already has both tools and this interpreter has the
pinned versions; otherwise creates a virtual environment in the repository's tool folder and pip-installs them
there, once (a stamp records what was installed). On failure, prints one line: what is missing and the command
that installs it, and exits 1.
"""
import contextlib
import importlib.metadata
import os
import shutil
import subprocess
import sys

TOOLS = {"moto_server": "moto", "cfn-lint": "cfn-lint"}


def pinned(requirements):
    with open(requirements, encoding="utf-8") as lines:
        specs = [line.strip() for line in lines if line.strip() and not line.startswith("#")]
    return {spec.split("==")[0].split("[")[0]: spec.split("==")[1] for spec in specs}, specs


def on_path(versions):
    for tool, package in TOOLS.items():
        if shutil.which(tool) is None:
            return False
        try:
            if importlib.metadata.version(package) != versions[package]:
                return False
        except importlib.metadata.PackageNotFoundError:
            return False
    return True


@contextlib.contextmanager
def locked(path):
    # Two builds at once (an IDE and a terminal) must not install into the same folder together.
    with open(path, "a+", encoding="utf-8") as handle:
        try:
            import fcntl
            fcntl.flock(handle, fcntl.LOCK_EX)
        except ImportError:
            pass
        yield


def main(folder, requirements):
    versions, specs = pinned(requirements)
    bin_folder = os.path.join(folder, "Scripts" if os.name == "nt" else "bin")
    command = (f"python3 -m venv {os.path.relpath(folder)} && "
               f"{os.path.relpath(os.path.join(bin_folder, 'python'))} -m pip install -r {os.path.relpath(requirements)}")
    stamp = os.path.join(folder, "installed.txt")
    wanted = "\n".join(specs) + "\n"

    def installed():
        return os.path.exists(stamp) and open(stamp, encoding="utf-8").read() == wanted

    if installed() or on_path(versions):
        return 0

    missing = ", ".join(f"{tool} ({package} {versions[package]})" for tool, package in TOOLS.items())
    os.makedirs(folder, exist_ok=True)
    with locked(os.path.join(folder, ".lock")):
        if installed():
            return 0
        python = os.path.join(bin_folder, "python")
        if not os.path.exists(python):
            made = subprocess.run([sys.executable, "-m", "venv", folder], capture_output=True, text=True)
            if made.returncode != 0:
                print(f"{missing}: not on PATH, and '{sys.executable} -m venv' failed (on Debian and Ubuntu: apt-get install python3-venv), then run: {command}")
                return 1
        pip = subprocess.run(
            [python, "-m", "pip", "install", "--disable-pip-version-check", "--retries", "1", "--timeout", "20", "-r", requirements],
            capture_output=True, text=True)
        if pip.returncode != 0:
            log = os.path.join(folder, "pip.log")
            with open(log, "w", encoding="utf-8") as out:
                out.write(pip.stdout + pip.stderr)
            print(f"{missing}: not on PATH, and pip could not install them (is the package index reachable? {os.path.relpath(log)}"
                  f" has its output); install them with: {command}")
            return 1
        with open(stamp, "w", encoding="utf-8") as out:
            out.write(wanted)
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1], sys.argv[2]))
