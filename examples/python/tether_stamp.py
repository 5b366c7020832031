"""Stamp every log of a request with the PostHog session and person of the browser that made it.

posthog-js with `tracing_headers: ['api.example.com']` adds X-POSTHOG-SESSION-ID,
X-POSTHOG-DISTINCT-ID and X-POSTHOG-WINDOW-ID to the page's calls to that host; other clients
may send W3C `baggage` with `session.id` / `user.id`. This module:

- reads them in a WSGI (Flask, Django) or ASGI (FastAPI, Starlette) middleware, validated,
  into a context variable for the duration of the request;
- copies them onto every `logging` record with `StampFilter`, so OpenTelemetry's
  `LoggingHandler` exports them as the attributes `sessionId`, `session.id`,
  `posthogDistinctId` and `posthogWindowId` that Tether links on.

Copy this file into your project; it needs only `opentelemetry-sdk` and
`opentelemetry-exporter-otlp-proto-http` (for `setup_logging`).
"""

from __future__ import annotations

import contextvars
import logging
import re
from typing import Callable, Iterable, Mapping, Optional
from urllib.parse import unquote

# Header values are untrusted: accept only what looks like an id.
_ID = re.compile(r"[A-Za-z0-9._:-]{1,128}")
_MAX_DISTINCT_ID = 200
_MAX_BAGGAGE = 8192
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


def read_stamp(header: Callable[[str], Optional[str]]) -> Optional[dict]:
    """The ids of a request, given a case-insensitive header lookup; None when none is valid."""
    baggage = _baggage(header("baggage") or "")
    stamp = {
        "sessionId": _valid_id(header("x-posthog-session-id")) or _valid_id(baggage.get("session.id")),
        "posthogDistinctId": _valid_distinct_id(header("x-posthog-distinct-id"))
        or _valid_distinct_id(baggage.get("user.id")),
        "posthogWindowId": _valid_id(header("x-posthog-window-id")),
    }
    if stamp["sessionId"]:
        stamp["session.id"] = stamp["sessionId"]
    stamp = {k: v for k, v in stamp.items() if v}
    return stamp or None


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
        stamp = read_stamp(lambda name: environ.get("HTTP_" + name.upper().replace("-", "_")))
        token = _stamp.set(stamp)
        try:
            # Logs written while a streamed body is iterated later are not stamped.
            return self.app(environ, start_response)
        finally:
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
        token = _stamp.set(read_stamp(headers.get))
        try:
            await self.app(scope, receive, send)
        finally:
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
