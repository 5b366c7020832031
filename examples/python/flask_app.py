"""A Flask shop backend whose logs reach Tether stamped with the caller's session and person.

Run:  pip install flask opentelemetry-sdk opentelemetry-exporter-otlp-proto-http
      TETHER_TOKEN=phc_... python flask_app.py      (Tether at http://127.0.0.1:8010)
Then have posthog-js call it with `tracing_headers: ['127.0.0.1']`, or try:
      curl -X POST localhost:5000/checkout -H 'X-POSTHOG-SESSION-ID: s1' -H 'X-POSTHOG-DISTINCT-ID: ada'
"""

import logging
import os

from flask import Flask, jsonify

from tether_stamp import StampMiddleware, setup_logging

log = logging.getLogger("shop")
app = Flask(__name__)
app.wsgi_app = StampMiddleware(app.wsgi_app)


@app.post("/checkout")
def checkout():
    log.info("checkout started", extra={"items": 2})
    log.error("payment declined by the card processor", extra={"gateway": "acme-pay"})
    return jsonify(error="payment declined"), 502


if __name__ == "__main__":
    tether = os.environ.get("TETHER_URL", "http://127.0.0.1:8010")
    provider = setup_logging(f"{tether}/v1/logs", os.environ["TETHER_TOKEN"], "flask-shop")
    try:
        app.run(port=int(os.environ.get("PORT", "5000")))
    finally:
        provider.shutdown()
