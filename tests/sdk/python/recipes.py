"""Drives the Python stamping recipe (examples/python) for real: starts the Flask or FastAPI
example app on a free port with `setup_logging` pointed at Tether, sends it requests the way
posthog-js (tracing headers) and other clients (W3C baggage) would, plus one with invalid ids,
then flushes the OpenTelemetry pipeline. The Rust test reads the logs back from Tether.
Usage:
    recipes.py TETHER_BASE TOKEN flask|fastapi CALLER_TRACE_ID
"""

import socket
import sys
import threading
import time
import json
import urllib.error
import urllib.parse
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


def post(url: str, headers: dict) -> str:
    """Posts to the checkout and returns its `Server-Timing` header."""
    request = urllib.request.Request(url, data=b"{}", method="POST", headers=headers)
    try:
        urllib.request.urlopen(request, timeout=10)
    except urllib.error.HTTPError as e:
        assert e.code == 502, e.code  # the example's checkout fails on purpose
        return e.headers.get("Server-Timing", "")
    raise AssertionError("the checkout did not fail")


def main() -> None:
    base, token, framework, caller_trace = sys.argv[1:5]
    provider = setup_logging(f"{base}/v1/logs", token, f"{framework}-shop")
    app_url, stop = {"flask": serve_flask, "fastapi": serve_fastapi}[framework]()
    timing = post(f"{app_url}/checkout", {
        "X-POSTHOG-SESSION-ID": f"{framework}-session-1",
        "X-POSTHOG-DISTINCT-ID": "ada@example.com",
        "X-POSTHOG-WINDOW-ID": f"{framework}-window-1",
    })
    assert timing.startswith('traceparent;desc="00-'), timing
    post(f"{app_url}/checkout", {"baggage": f"tenant=acme,session.id={framework}-baggage-1,user.id=grace%40example.com"})
    post(f"{app_url}/checkout", {"X-POSTHOG-SESSION-ID": "s" * 300, "X-POSTHOG-DISTINCT-ID": "undefined"})
    # A page load or form post: only the posthog-js cookie names the session.
    now_ms = int(time.time() * 1000)
    cookie = json.dumps({"distinct_id": "lin@example.com", "$sesid": [now_ms, f"{framework}-cookie-1", now_ms]})
    post(f"{app_url}/checkout", {"Cookie": f"theme=dark; ph_phc_shop_posthog={urllib.parse.quote(cookie)}"})
    # The caller's trace is continued and named in the response.
    timing = post(f"{app_url}/checkout", {
        "X-POSTHOG-SESSION-ID": f"{framework}-traced-1",
        "traceparent": f"00-{caller_trace}-00f067aa0ba902b7-01",
    })
    assert timing.startswith(f'traceparent;desc="00-{caller_trace}-'), timing
    stop()
    provider.force_flush()
    provider.shutdown()


if __name__ == "__main__":
    main()
