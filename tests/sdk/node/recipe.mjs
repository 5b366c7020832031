// Drives the Node stamping recipe (examples/node) for real: starts its Express app on a free
// port with `setupLogging` pointed at Tether, sends requests the way posthog-js (tracing
// headers) and other clients (W3C baggage) would, plus one with invalid ids, then flushes the
// OpenTelemetry pipeline. The Rust test reads the logs back from Tether.
//   node recipe.mjs TETHER_BASE TOKEN
import { setupLogging } from '../../../examples/node/tether-stamp.mjs';
import { app } from '../../../examples/node/app.mjs';

const [base, token] = process.argv.slice(2);
const provider = setupLogging({ endpoint: `${base}/v1/logs`, token, serviceName: 'express-shop' });
const server = await new Promise((resolve) => {
  const s = app.listen(0, '127.0.0.1', () => resolve(s));
});
const url = `http://127.0.0.1:${server.address().port}/checkout`;

async function post(headers) {
  const resp = await fetch(url, { method: 'POST', headers });
  if (resp.status !== 502) throw new Error(`checkout answered ${resp.status}`);
}

// Two callers at once: AsyncLocalStorage keeps their ids apart across the await.
await Promise.all([
  post({ 'X-POSTHOG-SESSION-ID': 'express-session-1', 'X-POSTHOG-DISTINCT-ID': 'ada@example.com', 'X-POSTHOG-WINDOW-ID': 'express-window-1' }),
  post({ baggage: 'tenant=acme,session.id=express-baggage-1,user.id=grace%40example.com' }),
]);
await post({ 'X-POSTHOG-SESSION-ID': 's'.repeat(300), 'X-POSTHOG-DISTINCT-ID': 'undefined' });
await new Promise((resolve) => server.close(resolve));
await provider.forceFlush();
await provider.shutdown();
