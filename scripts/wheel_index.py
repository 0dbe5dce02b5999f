"""Run an image build with torch taken from a directory of wheels, served as a package index.

    python scripts/wheel_index.py /opt/wheels -- podman build -t storybot:latest .

For machines that reach PyPI but not the PyTorch index and keep the CPU wheel on disk: the directory
is served on the loopback as a PEP 503 index for the build's lifetime, and the build command gets
`--network=host --build-arg TORCH_INDEX_URL=http://127.0.0.1:PORT/` (pip trusts plain HTTP on the
loopback). Only wheels named torch-*.whl are listed. `make image TORCH_WHEELS=DIR` runs this.
"""

from __future__ import annotations

import argparse
import html
import http.server
import subprocess
import sys
import threading
import urllib.parse
from pathlib import Path


def index_handler(wheels: list[Path]) -> type[http.server.BaseHTTPRequestHandler]:
    by_name = {wheel.name: wheel for wheel in wheels}

    class Handler(http.server.BaseHTTPRequestHandler):
        def do_GET(self) -> None:
            path = urllib.parse.unquote(self.path.split("?", 1)[0])  # pip asks for torch-2.13.0%2Bcpu
            if path in ("/torch/", "/torch"):
                links = "".join(
                    f'<a href="/files/{urllib.parse.quote(n)}">{html.escape(n)}</a>\n' for n in by_name
                )
                self._send(200, "text/html", f"<!DOCTYPE html><html><body>\n{links}</body></html>".encode())
            elif path.startswith("/files/") and path.removeprefix("/files/") in by_name:
                self._send(
                    200, "application/octet-stream", by_name[path.removeprefix("/files/")].read_bytes()
                )
            else:  # any other project: pip looks for it on PyPI (--extra-index-url)
                self._send(404, "text/plain", b"not here\n")

        def _send(self, status: int, kind: str, body: bytes) -> None:
            self.send_response(status)
            self.send_header("Content-Type", kind)
            self.send_header("Content-Length", str(len(body)))
            self.end_headers()
            self.wfile.write(body)

        def log_message(self, format: str, *args: object) -> None:
            pass  # the build's own output is what matters

    return Handler


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("wheels", type=Path, help="a directory holding torch-*.whl")
    # A fixed port: the URL is a build argument, and a new one would rebuild every layer after it.
    parser.add_argument("--port", type=int, default=38111, help="the loopback port (default 38111)")
    parser.add_argument("build", nargs=argparse.REMAINDER, help="-- then the build command")
    args = parser.parse_args()
    build = args.build[1:] if args.build[:1] == ["--"] else args.build
    wheels = sorted(args.wheels.glob("torch-*.whl"))
    if not wheels or not build:
        parser.error(f"needs torch wheels in {args.wheels} and a build command after --")
    server = http.server.ThreadingHTTPServer(("127.0.0.1", args.port), index_handler(wheels))
    threading.Thread(target=server.serve_forever, daemon=True).start()
    url = f"http://127.0.0.1:{server.server_address[1]}/"
    # The options go right after `build`, before the context directory at the end.
    at = build.index("build") + 1 if "build" in build else len(build)
    command = [*build[:at], "--network=host", "--build-arg", f"TORCH_INDEX_URL={url}", *build[at:]]
    print(f"torch from {', '.join(w.name for w in wheels)} at {url}", file=sys.stderr)
    try:
        return subprocess.run(command, check=False).returncode
    finally:
        server.shutdown()


if __name__ == "__main__":
    sys.exit(main())
