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
import { AsyncLocalStorage } from 'node:async_hooks';
import { logs } from '@opentelemetry/api-logs';
import { OTLPLogExporter } from '@opentelemetry/exporter-logs-otlp-proto';
import { resourceFromAttributes } from '@opentelemetry/resources';
import { BatchLogRecordProcessor, LoggerProvider } from '@opentelemetry/sdk-logs';

// Header values are untrusted: accept only what looks like an id.
const ID = /^[A-Za-z0-9._:-]{1,128}$/;
const MAX_DISTINCT_ID = 200;
const MAX_BAGGAGE = 8192;
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

/** The ids of a request from a header lookup (`name` → string or undefined); undefined if none is valid. */
export function readStamp(header) {
  const baggage = parseBaggage(header('baggage'));
  const sessionId = validId(header('x-posthog-session-id')) ?? validId(baggage.get('session.id'));
  const stamp = {
    sessionId,
    'session.id': sessionId,
    posthogDistinctId: validDistinctId(header('x-posthog-distinct-id')) ?? validDistinctId(baggage.get('user.id')),
    posthogWindowId: validId(header('x-posthog-window-id')),
  };
  const present = Object.entries(stamp).filter(([, v]) => v !== undefined);
  return present.length ? Object.fromEntries(present) : undefined;
}

const requestIds = new AsyncLocalStorage();

/** The ids of the request being handled, if it carried any. */
export const currentStamp = () => requestIds.getStore();

/** Express / Connect / plain `http` middleware (`req, res, next`); add it before your routes. */
export function stampMiddleware() {
  // Node lowercases header names and joins repeated ones (baggage) with ", ".
  const header = (req) => (name) => {
    const value = req.headers[name];
    return Array.isArray(value) ? value.join(',') : value;
  };
  return (req, _res, next) => requestIds.run(readStamp(header(req)), next);
}

/** Adds the current request's ids to each log record (an attribute the log set itself wins). */
export class StampProcessor {
  onEmit(record) {
    const stamp = requestIds.getStore();
    if (!stamp) return;
    for (const [key, value] of Object.entries(stamp)) {
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
