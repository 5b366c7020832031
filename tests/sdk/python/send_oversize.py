"""Sends one batch of logs larger than Tether's body limit through the real OpenTelemetry
Python SDK and OTLP/HTTP exporter, and prints what the exporter logged about it (the status
code and reason it read, or a connection error). Usage:
    send_oversize.py ENDPOINT TOKEN MEGABYTES
"""

import logging
import sys
import time

from opentelemetry.exporter.otlp.proto.http._log_exporter import OTLPLogExporter
from opentelemetry.sdk._logs import LoggerProvider, LoggingHandler
from opentelemetry.sdk._logs.export import BatchLogRecordProcessor
from opentelemetry.sdk.resources import Resource


class Captured(logging.Handler):
    """Keeps what the SDK logs about failed exports."""

    def __init__(self):
        super().__init__(logging.WARNING)
        self.messages = []

    def emit(self, record):
        self.messages.append(record.getMessage())


def main() -> None:
    endpoint, token, megabytes = sys.argv[1], sys.argv[2], int(sys.argv[3])
    captured = Captured()
    logging.getLogger("opentelemetry").addHandler(captured)
    provider = LoggerProvider(resource=Resource.create({"service.name": "oversize-test"}))
    exporter = OTLPLogExporter(endpoint=endpoint, headers={"Authorization": f"Bearer {token}"}, timeout=60)
    provider.add_log_record_processor(BatchLogRecordProcessor(exporter, schedule_delay_millis=60_000))
    app = logging.getLogger("oversize")
    app.propagate = False
    app.addHandler(LoggingHandler(level=logging.INFO, logger_provider=provider))
    # Many 1 MB records in one batch: the request, not one record, is what is too large.
    for i in range(megabytes):
        app.warning("record %d %s", i, "x" * 1_000_000)
    started = time.monotonic()
    provider.force_flush(60_000)
    print(f"flushed in {time.monotonic() - started:.1f} s")
    for message in captured.messages:
        print(message)
    provider.shutdown()


if __name__ == "__main__":
    main()
