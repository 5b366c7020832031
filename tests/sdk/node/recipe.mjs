// Drives the Node stamping recipe (examples/node) for real: starts its Express app on a free
// port with `setupLogging` pointed at Tether, sends requests the way posthog-js (tracing
// headers) and other clients (W3C baggage) would, plus one with invalid ids, then flushes the
// OpenTelemetry pipeline. The Rust test reads the logs back from Tether.
//   node recipe.mjs TETHER_BASE TOKEN CALLER_TRACE_ID
import { setupLogging } from '../../../examples/node/tether-stamp.mjs';
import { app } from '../../../examples/node/app.mjs';

const [base, token, callerTrace] = process.argv.slice(2);
const provider = setupLogging({ endpoint: `${base}/v1/logs`, token, serviceName: 'express-shop' });
const server = await new Promise((resolve) => {
  const s = app.listen(0, '127.0.0.1', () => resolve(s));
});
const url = `http://127.0.0.1:${server.address().port}/checkout`;

/** Posts to the checkout (which fails on purpose) and returns its `Server-Timing` header. */
async function post(headers) {
  const resp = await fetch(url, { method: 'POST', headers });
  if (resp.status !== 502) throw new Error(`checkout answered ${resp.status}`);
  return resp.headers.get('server-timing') ?? '';
}

function expectTrace(timing, trace) {
  if (!timing.startsWith(`traceparent;desc="00-${trace}`)) throw new Error(`Server-Timing: ${timing}`);
}

// Two callers at once: AsyncLocalStorage keeps their ids apart across the await.
const [timing] = await Promise.all([
  post({ 'X-POSTHOG-SESSION-ID': 'express-session-1', 'X-POSTHOG-DISTINCT-ID': 'ada@example.com', 'X-POSTHOG-WINDOW-ID': 'express-window-1' }),
  post({ baggage: 'tenant=acme,session.id=express-baggage-1,user.id=grace%40example.com' }),
]);
expectTrace(timing, '');
await post({ 'X-POSTHOG-SESSION-ID': 's'.repeat(300), 'X-POSTHOG-DISTINCT-ID': 'undefined' });
// A page load or form post: only the posthog-js cookie names the session.
const now = Date.now();
const cookie = encodeURIComponent(JSON.stringify({ distinct_id: 'lin@example.com', $sesid: [now, 'express-cookie-1', now] }));
await post({ cookie: `theme=dark; ph_phc_shop_posthog=${cookie}` });
// The caller's trace is continued and named in the response.
expectTrace(await post({ 'X-POSTHOG-SESSION-ID': 'express-traced-1', traceparent: `00-${callerTrace}-00f067aa0ba902b7-01` }), callerTrace);
await new Promise((resolve) => server.close(resolve));
await provider.forceFlush();
await provider.shutdown();
