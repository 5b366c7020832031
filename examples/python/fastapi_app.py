"""A FastAPI shop backend whose logs reach Tether stamped with the caller's session and person.

Run:  pip install fastapi uvicorn opentelemetry-sdk opentelemetry-exporter-otlp-proto-http
      TETHER_TOKEN=phc_... python fastapi_app.py    (Tether at http://127.0.0.1:8010)
"""

import asyncio
import logging
import os

from fastapi import FastAPI
from fastapi.responses import JSONResponse

from tether_stamp import StampASGIMiddleware, setup_logging

log = logging.getLogger("shop")
app = FastAPI()
app.add_middleware(StampASGIMiddleware)


@app.post("/checkout")
async def checkout():
    log.info("checkout started", extra={"items": 2})
    # Tasks started here inherit the request's context, so their logs are stamped too.
    await asyncio.create_task(asyncio.to_thread(log.warning, "fraud check slow"))
    log.error("payment declined by the card processor", extra={"gateway": "acme-pay"})
    return JSONResponse({"error": "payment declined"}, status_code=502)


if __name__ == "__main__":
    import uvicorn

    tether = os.environ.get("TETHER_URL", "http://127.0.0.1:8010")
    provider = setup_logging(f"{tether}/v1/logs", os.environ["TETHER_TOKEN"], "fastapi-shop")
    try:
        uvicorn.run(app, port=int(os.environ.get("PORT", "5001")))
    finally:
        provider.shutdown()
