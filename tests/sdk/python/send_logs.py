"""Sends logs to Tether through the real OpenTelemetry Python SDK and its OTLP/HTTP exporter.

The logs carry `sessionId` / `posthogDistinctId` the way the "link session replay" guide
tells users to: as attributes via `extra=`. Usage:
    send_logs.py ENDPOINT TOKEN SESSION_ID DISTINCT_ID
"""

import logging
import sys

from opentelemetry._logs import set_logger_provider
from opentelemetry.exporter.otlp.proto.http._log_exporter import OTLPLogExporter
from opentelemetry.sdk._logs import LoggerProvider, LoggingHandler
from opentelemetry.sdk._logs.export import BatchLogRecordProcessor
from opentelemetry.sdk.resources import Resource


def main() -> None:
    endpoint, token, session_id, distinct_id = sys.argv[1:5]
    provider = LoggerProvider(resource=Resource.create({"service.name": "python-sdk-test"}))
    exporter = OTLPLogExporter(endpoint=endpoint, headers={"Authorization": f"Bearer {token}"})
    provider.add_log_record_processor(BatchLogRecordProcessor(exporter))
    set_logger_provider(provider)

    logger = logging.getLogger("checkout")
    logger.setLevel(logging.INFO)
    logger.addHandler(LoggingHandler(level=logging.INFO, logger_provider=provider))

    ids = {"sessionId": session_id, "posthogDistinctId": distinct_id}
    logger.info("cart loaded", extra={**ids, "items": 3})
    logger.error("payment declined by bank", extra={**ids, "amount": 12.5})
    logger.warning("no session on this one")

    provider.force_flush()
    provider.shutdown()


if __name__ == "__main__":
    main()
