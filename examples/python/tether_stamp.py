"""Stamp every log of a request with the PostHog session and person of the browser that made it.

posthog-js with `tracing_headers: ['api.example.com']` adds X-POSTHOG-SESSION-ID,
X-POSTHOG-DISTINCT-ID and X-POSTHOG-WINDOW-ID to the page's calls to that host; other clients
may send W3C `baggage` with `session.id` / `user.id`. This module:

- reads them in a WSGI (Flask, Django) or ASGI (FastAPI, Starlette) middleware, validated,
  into a context variable for the duration of the request;
- copies them onto every `logging` record with `StampFilter`, so OpenTelemetry's
  `LoggingHandler` exports them as the attributes `sessionId`, `session.id`,
  `posthogDistinctId` and `posthogWindowId` that Tether links on;
- falls back to the posthog-js cookie (`ph_{token}_posthog`) when a request has no tracing
  headers: a page load or a classic form post sends none;
- gives each request a trace (the caller's W3C `traceparent`, else a new one), current in the
  OpenTelemetry context so its logs carry the trace id (unless a real span is active), and
  names it in the response: `Server-Timing: traceparent;desc="00-…"`, which posthog-js's
  network recording keeps, so the replay's request finds exactly its logs.

Copy this file into your project; it needs only `opentelemetry-sdk` and
`opentelemetry-exporter-otlp-proto-http` (for `setup_logging`).
"""

from __future__ import annotations

import contextvars
import json
import logging
import re
import secrets
import time
from typing import Callable, Iterable, Mapping, Optional
from urllib.parse import unquote

# Header values are untrusted: accept only what looks like an id.
_ID = re.compile(r"[A-Za-z0-9._:-]{1,128}")
_MAX_DISTINCT_ID = 200
_MAX_BAGGAGE = 8192
_MAX_COOKIE = 16 * 1024
# posthog-js starts a new session after 30 minutes without activity.
_SESSION_IDLE_MS = 30 * 60 * 1000
_TRACEPARENT = re.compile(r"00-([0-9a-f]{32})-([0-9a-f]{16})-([0-9a-f]{2})")
_PLACEHOLDERS = {"undefined", "null", "none", "nan"}

_stamp: contextvars.ContextVar[Optional[dict]] = contextvars.ContextVar("tether_stamp", default=None)


def _valid_id(value: Optional[str]) -> Optional[str]:
    value = (value or "").strip()
    if _ID.fullmatch(value) and value.lower() not in _PLACEHOLDERS:
        return value
    return None


def _valid_distinct_id(value: Optional[str]) -> Optional[str]:
    value = (value or "").strip()
    if (
        value
        and len(value.encode()) <= _MAX_DISTINCT_ID
        and value.isprintable()
        and value.lower() not in _PLACEHOLDERS
    ):
        return value
    return None


def _baggage(header: str) -> dict:
    """`key=value;props, …` with percent-encoded values; the first occurrence of a key wins."""
    entries: dict = {}
    if len(header) > _MAX_BAGGAGE:
        return entries
    for member in header.split(","):
        key, sep, value = member.split(";", 1)[0].partition("=")
        if sep and key.strip() not in entries:
            try:
                entries[key.strip()] = unquote(value.strip(), errors="strict")
            except UnicodeDecodeError:
                pass
    return entries


def _posthog_cookie(header: str) -> dict:
    """`distinct_id` and the active session of the first `ph_*_posthog` cookie (its JSON:
    `{"distinct_id": …, "$sesid": [last activity ms, session id, start ms]}`)."""
    if len(header) > _MAX_COOKIE:
        return {}
    for pair in header.split(";"):
        name, sep, value = pair.strip().partition("=")
        if not (sep and name.startswith("ph_") and name.endswith("_posthog")):
            continue
        try:
            props = json.loads(unquote(value, errors="strict"))
        except (UnicodeDecodeError, ValueError):
            continue
        if not isinstance(props, dict):
            continue
        session = props.get("$sesid")
        active = (
            isinstance(session, list)
            and len(session) > 1
            and isinstance(session[0], (int, float))
            and time.time() * 1000 - session[0] <= _SESSION_IDLE_MS
        )
        distinct_id = props.get("distinct_id")
        return {
            "distinct_id": distinct_id if isinstance(distinct_id, str) else None,
            "session_id": session[1] if active and isinstance(session[1], str) else None,
        }
    return {}


def read_stamp(header: Callable[[str], Optional[str]]) -> Optional[dict]:
    """The ids of a request, given a case-insensitive header lookup; None when none is valid."""
    baggage = _baggage(header("baggage") or "")
    cookie = _posthog_cookie(header("cookie") or "")
    stamp = {
        "sessionId": _valid_id(header("x-posthog-session-id"))
        or _valid_id(baggage.get("session.id"))
        or _valid_id(cookie.get("session_id")),
        "posthogDistinctId": _valid_distinct_id(header("x-posthog-distinct-id"))
        or _valid_distinct_id(baggage.get("user.id"))
        or _valid_distinct_id(cookie.get("distinct_id")),
        "posthogWindowId": _valid_id(header("x-posthog-window-id")),
    }
    if stamp["sessionId"]:
        stamp["session.id"] = stamp["sessionId"]
    stamp = {k: v for k, v in stamp.items() if v}
    return stamp or None


def request_traceparent(header: Optional[str]) -> str:
    """This request's `traceparent`: the caller's trace (and flags) with a new span, else a
    new trace."""
    match = _TRACEPARENT.fullmatch((header or "").strip())
    if match and match.group(1) != "0" * 32 and match.group(2) != "0" * 16:
        trace, flags = match.group(1), match.group(3)
    else:
        trace, flags = secrets.token_hex(16), "01"
    return f"00-{trace}-{secrets.token_hex(8)}-{flags}"


def _server_timing(traceparent: str) -> str:
    return f'traceparent;desc="{traceparent}"'


def _enter_trace(traceparent: str):
    """Makes the request's trace current for OpenTelemetry (unless a real span already is),
    so `LoggingHandler` puts its id on each record; returns what `_leave_trace` needs."""
    from opentelemetry import context, trace

    if trace.get_current_span().get_span_context().is_valid:
        return None
    _, trace_id, span_id, flags = traceparent.split("-")
    span = trace.NonRecordingSpan(
        trace.SpanContext(int(trace_id, 16), int(span_id, 16), is_remote=False, trace_flags=trace.TraceFlags(int(flags, 16)))
    )
    return context.attach(trace.set_span_in_context(span))


def _leave_trace(token) -> None:
    if token is not None:
        from opentelemetry import context

        context.detach(token)


def current_stamp() -> Optional[dict]:
    """The ids of the request being handled, if it carried any."""
    return _stamp.get()


class StampFilter(logging.Filter):
    """Adds the current request's ids to each record (an id the call set via `extra=` wins)."""

    def filter(self, record: logging.LogRecord) -> bool:
        for key, value in (_stamp.get() or {}).items():
            if not hasattr(record, key):
                setattr(record, key, value)
        return True


class StampMiddleware:
    """WSGI middleware: `app.wsgi_app = StampMiddleware(app.wsgi_app)` in Flask."""

    def __init__(self, app: Callable) -> None:
        self.app = app

    def __call__(self, environ: dict, start_response: Callable) -> Iterable[bytes]:
        header = lambda name: environ.get("HTTP_" + name.upper().replace("-", "_"))  # noqa: E731
        traceparent = request_traceparent(header("traceparent"))

        def start_with_trace(status, headers, exc_info=None):
            return start_response(status, [*headers, ("Server-Timing", _server_timing(traceparent))], exc_info)

        token = _stamp.set(read_stamp(header))
        trace_token = _enter_trace(traceparent)
        try:
            # Logs written while a streamed body is iterated later are not stamped.
            return self.app(environ, start_with_trace)
        finally:
            _leave_trace(trace_token)
            _stamp.reset(token)


class StampASGIMiddleware:
    """ASGI middleware: `app.add_middleware(StampASGIMiddleware)` in FastAPI / Starlette."""

    def __init__(self, app: Callable) -> None:
        self.app = app

    async def __call__(self, scope: dict, receive: Callable, send: Callable) -> None:
        if scope["type"] not in ("http", "websocket"):
            await self.app(scope, receive, send)
            return
        headers: Mapping[str, str] = {}
        for name, value in scope.get("headers", []):
            key = name.decode("latin-1").lower()
            # Repeated baggage headers are one list (W3C); other repeats: the first one.
            if key == "baggage" and key in headers:
                headers[key] += "," + value.decode("latin-1")
            else:
                headers.setdefault(key, value.decode("latin-1"))
        traceparent = request_traceparent(headers.get("traceparent"))

        async def send_with_trace(message: dict) -> None:
            if message["type"] == "http.response.start":
                timing = (b"server-timing", _server_timing(traceparent).encode())
                message = {**message, "headers": [*message.get("headers", []), timing]}
            await send(message)

        token = _stamp.set(read_stamp(headers.get))
        trace_token = _enter_trace(traceparent)
        try:
            await self.app(scope, receive, send_with_trace)
        finally:
            _leave_trace(trace_token)
            _stamp.reset(token)


def setup_logging(endpoint: str, token: str, service_name: str, level: int = logging.INFO):
    """Sends the root logger's records to Tether over OTLP/HTTP, stamped; returns the provider
    (call `shutdown()` on it at exit so the last batch is sent)."""
    from opentelemetry._logs import set_logger_provider
    from opentelemetry.exporter.otlp.proto.http._log_exporter import OTLPLogExporter
    from opentelemetry.sdk._logs import LoggerProvider, LoggingHandler
    from opentelemetry.sdk._logs.export import BatchLogRecordProcessor
    from opentelemetry.sdk.resources import Resource

    provider = LoggerProvider(resource=Resource.create({"service.name": service_name}))
    exporter = OTLPLogExporter(endpoint=endpoint, headers={"Authorization": f"Bearer {token}"})
    provider.add_log_record_processor(BatchLogRecordProcessor(exporter))
    set_logger_provider(provider)
    handler = LoggingHandler(level=level, logger_provider=provider)
    handler.addFilter(StampFilter())
    root = logging.getLogger()
    root.setLevel(min(root.level or level, level))
    root.addHandler(handler)
    return provider
