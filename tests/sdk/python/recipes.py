"""Drives the Python stamping recipe (examples/python) for real: starts the Flask or FastAPI
example app on a free port with `setup_logging` pointed at Tether, sends it requests the way
posthog-js (tracing headers) and other clients (W3C baggage) would, plus one with invalid ids,
then flushes the OpenTelemetry pipeline. The Rust test reads the logs back from Tether.
Usage:
    recipes.py TETHER_BASE TOKEN flask|fastapi
"""

import socket
import sys
import threading
import time
import urllib.error
import urllib.request
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[3] / "examples" / "python"))

from tether_stamp import setup_logging  # noqa: E402


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def serve_flask():
    from werkzeug.serving import make_server

    from flask_app import app

    server = make_server("127.0.0.1", 0, app)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    return f"http://127.0.0.1:{server.server_port}", server.shutdown


def serve_fastapi():
    import uvicorn

    from fastapi_app import app

    port = free_port()
    server = uvicorn.Server(uvicorn.Config(app, host="127.0.0.1", port=port, log_level="warning"))
    threading.Thread(target=server.run, daemon=True).start()
    deadline = time.time() + 20
    while not server.started:
        if time.time() > deadline:
            raise SystemExit("uvicorn did not start")
        time.sleep(0.05)

    def stop():
        server.should_exit = True

    return f"http://127.0.0.1:{port}", stop


def post(url: str, headers: dict) -> None:
    request = urllib.request.Request(url, data=b"{}", method="POST", headers=headers)
    try:
        urllib.request.urlopen(request, timeout=10)
    except urllib.error.HTTPError as e:
        assert e.code == 502, e.code  # the example's checkout fails on purpose


def main() -> None:
    base, token, framework = sys.argv[1:4]
    provider = setup_logging(f"{base}/v1/logs", token, f"{framework}-shop")
    app_url, stop = {"flask": serve_flask, "fastapi": serve_fastapi}[framework]()
    post(f"{app_url}/checkout", {
        "X-POSTHOG-SESSION-ID": f"{framework}-session-1",
        "X-POSTHOG-DISTINCT-ID": "ada@example.com",
        "X-POSTHOG-WINDOW-ID": f"{framework}-window-1",
    })
    post(f"{app_url}/checkout", {"baggage": f"tenant=acme,session.id={framework}-baggage-1,user.id=grace%40example.com"})
    post(f"{app_url}/checkout", {"X-POSTHOG-SESSION-ID": "s" * 300, "X-POSTHOG-DISTINCT-ID": "undefined"})
    stop()
    provider.force_flush()
    provider.shutdown()


if __name__ == "__main__":
    main()
