// An Express shop backend whose logs reach Tether stamped with the caller's session and person.
//
//   npm ci && TETHER_TOKEN=phc_... node app.mjs      (Tether at http://127.0.0.1:8010)
//   curl -X POST localhost:3000/checkout -H 'X-POSTHOG-SESSION-ID: s1' -H 'X-POSTHOG-DISTINCT-ID: ada'
import { logs, SeverityNumber } from '@opentelemetry/api-logs';
import express from 'express';
import { setupLogging, stampMiddleware } from './tether-stamp.mjs';

const logger = logs.getLogger('shop');
const log = (severityNumber, severityText, body, attributes = {}) =>
  logger.emit({ severityNumber, severityText, body, attributes });

export const app = express();
app.use(stampMiddleware());

app.post('/checkout', async (_req, res) => {
  log(SeverityNumber.INFO, 'INFO', 'checkout started', { items: 2 });
  // Still the same request after an await, so still stamped.
  await new Promise((resolve) => setTimeout(resolve, 5));
  log(SeverityNumber.ERROR, 'ERROR', 'payment declined by the card processor', { gateway: 'acme-pay' });
  res.status(502).json({ error: 'payment declined' });
});

if (import.meta.url === `file://${process.argv[1]}`) {
  const tether = process.env.TETHER_URL ?? 'http://127.0.0.1:8010';
  const provider = setupLogging({ endpoint: `${tether}/v1/logs`, token: process.env.TETHER_TOKEN, serviceName: 'express-shop' });
  const server = app.listen(Number(process.env.PORT ?? 3000));
  process.on('SIGINT', () => server.close(() => provider.shutdown().then(() => process.exit(0))));
}
