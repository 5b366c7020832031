// Stamp every log of a request with the PostHog session and person of the browser that made it.
//
// posthog-js with `tracing_headers: ['api.example.com']` adds X-POSTHOG-SESSION-ID,
// X-POSTHOG-DISTINCT-ID and X-POSTHOG-WINDOW-ID to the page's calls to that host; other
// clients may send W3C `baggage` with `session.id` / `user.id`. `stampMiddleware()` reads
// them (validated) into an AsyncLocalStorage for the rest of the request, and
// `StampProcessor` copies them onto every OpenTelemetry log record emitted meanwhile as
// `sessionId`, `session.id`, `posthogDistinctId` and `posthogWindowId`, the attributes
// Tether links on. Works for any logger that reaches the OTel logs SDK (its API directly,
// or pino/winston through their OpenTelemetry instrumentations).
//
// A page load or classic form post sends no tracing headers: the posthog-js cookie
// (`ph_{token}_posthog`) names the session then. Each request also gets a trace (the
// caller's W3C `traceparent`, else a new one) that its logs carry and its response names in
// `Server-Timing: traceparent;desc="00-…"`, which posthog-js's network recording keeps: the
// replay's request finds exactly its logs.
import { AsyncLocalStorage } from 'node:async_hooks';
import { randomBytes } from 'node:crypto';
import { logs } from '@opentelemetry/api-logs';
import { OTLPLogExporter } from '@opentelemetry/exporter-logs-otlp-proto';
import { resourceFromAttributes } from '@opentelemetry/resources';
import { BatchLogRecordProcessor, LoggerProvider } from '@opentelemetry/sdk-logs';

// Header values are untrusted: accept only what looks like an id.
const ID = /^[A-Za-z0-9._:-]{1,128}$/;
const MAX_DISTINCT_ID = 200;
const MAX_BAGGAGE = 8192;
const MAX_COOKIE = 16 * 1024;
// posthog-js starts a new session after 30 minutes without activity.
const SESSION_IDLE_MS = 30 * 60 * 1000;
const TRACEPARENT = /^00-([0-9a-f]{32})-([0-9a-f]{16})-([0-9a-f]{2})$/;
const PLACEHOLDERS = new Set(['undefined', 'null', 'none', 'nan']);

const validId = (v) => {
  const s = (v ?? '').trim();
  return ID.test(s) && !PLACEHOLDERS.has(s.toLowerCase()) ? s : undefined;
};

const validDistinctId = (v) => {
  const s = (v ?? '').trim();
  const ok = s && Buffer.byteLength(s) <= MAX_DISTINCT_ID && !/\p{Cc}/u.test(s) && !PLACEHOLDERS.has(s.toLowerCase());
  return ok ? s : undefined;
};

/** `key=value;props, …` with percent-encoded values; the first occurrence of a key wins. */
function parseBaggage(header) {
  const entries = new Map();
  if (!header || header.length > MAX_BAGGAGE) return entries;
  for (const member of header.split(',')) {
    const pair = member.split(';')[0];
    const eq = pair.indexOf('=');
    const key = pair.slice(0, eq).trim();
    if (eq < 0 || entries.has(key)) continue;
    try {
      entries.set(key, decodeURIComponent(pair.slice(eq + 1).trim()));
    } catch {
      // Malformed percent-encoding: ignore the entry.
    }
  }
  return entries;
}

/** `distinct_id` and the active session of the first `ph_*_posthog` cookie (its JSON:
 * `{"distinct_id": …, "$sesid": [last activity ms, session id, start ms]}`). */
function posthogCookie(header) {
  if (!header || header.length > MAX_COOKIE) return {};
  for (const pair of header.split(';')) {
    const eq = pair.indexOf('=');
    const name = pair.slice(0, eq).trim();
    if (eq < 0 || !name.startsWith('ph_') || !name.endsWith('_posthog')) continue;
    let props;
    try {
      props = JSON.parse(decodeURIComponent(pair.slice(eq + 1).trim()));
    } catch {
      continue;
    }
    if (typeof props !== 'object' || props === null) continue;
    const session = Array.isArray(props.$sesid) ? props.$sesid : [];
    const active = typeof session[0] === 'number' && Date.now() - session[0] <= SESSION_IDLE_MS;
    return { distinctId: props.distinct_id, sessionId: active ? session[1] : undefined };
  }
  return {};
}

/** The ids of a request from a header lookup (`name` → string or undefined); undefined if none is valid. */
export function readStamp(header) {
  const baggage = parseBaggage(header('baggage'));
  const cookie = posthogCookie(header('cookie'));
  const sessionId = validId(header('x-posthog-session-id')) ?? validId(baggage.get('session.id')) ?? validId(cookie.sessionId);
  const stamp = {
    sessionId,
    'session.id': sessionId,
    posthogDistinctId:
      validDistinctId(header('x-posthog-distinct-id')) ?? validDistinctId(baggage.get('user.id')) ?? validDistinctId(cookie.distinctId),
    posthogWindowId: validId(header('x-posthog-window-id')),
  };
  const present = Object.entries(stamp).filter(([, v]) => v !== undefined);
  return present.length ? Object.fromEntries(present) : undefined;
}

/** This request's trace: the caller's `traceparent` (trace and flags) with a new span, else a new trace. */
export function requestTrace(traceparent) {
  const m = TRACEPARENT.exec((traceparent ?? '').trim());
  const valid = m && !/^0+$/.test(m[1]) && !/^0+$/.test(m[2]);
  return {
    traceId: valid ? m[1] : randomBytes(16).toString('hex'),
    spanId: randomBytes(8).toString('hex'),
    traceFlags: valid ? parseInt(m[3], 16) : 1,
  };
}

const requests = new AsyncLocalStorage();

/** The ids of the request being handled, if it carried any. */
export const currentStamp = () => requests.getStore()?.stamp;

/** Express / Connect / plain `http` middleware (`req, res, next`); add it before your routes. */
export function stampMiddleware() {
  // Node lowercases header names and joins repeated ones (baggage) with ", ".
  const header = (req) => (name) => {
    const value = req.headers[name];
    return Array.isArray(value) ? value.join(',') : value;
  };
  return (req, res, next) => {
    const trace = requestTrace(header(req)('traceparent'));
    const flags = trace.traceFlags.toString(16).padStart(2, '0');
    const timing = `traceparent;desc="00-${trace.traceId}-${trace.spanId}-${flags}"`;
    const before = res.getHeader('Server-Timing');
    res.setHeader('Server-Timing', before ? [].concat(before, timing) : timing);
    requests.run({ stamp: readStamp(header(req)), trace }, next);
  };
}

/** Adds the current request's ids to each log record (an attribute the log set itself wins),
 * and its trace to a record that has none (no active span). */
export class StampProcessor {
  onEmit(record) {
    const current = requests.getStore();
    if (!current) return;
    if (!record.spanContext) record.spanContext = current.trace;
    for (const [key, value] of Object.entries(current.stamp ?? {})) {
      if (!(key in record.attributes)) record.setAttribute(key, value);
    }
  }

  forceFlush() {
    return Promise.resolve();
  }

  shutdown() {
    return Promise.resolve();
  }
}

/**
 * Registers a global OpenTelemetry logger provider that stamps each record and exports it to
 * Tether as OTLP/HTTP protobuf. Call `shutdown()` on the result at exit to send the last batch.
 */
export function setupLogging({ endpoint, token, serviceName }) {
  const exporter = new OTLPLogExporter({ url: endpoint, headers: { Authorization: `Bearer ${token}` } });
  const provider = new LoggerProvider({
    resource: resourceFromAttributes({ 'service.name': serviceName }),
    // Processors run in order: stamp first, then export.
    processors: [new StampProcessor(), new BatchLogRecordProcessor({ exporter })],
  });
  logs.setGlobalLoggerProvider(provider);
  return provider;
}
