import { useState } from 'react';
import { LinkingHealth, Project, useApi } from '../api';
import { Link } from '../router';

type Recipes = ReturnType<typeof snippets>;

/** The recipe of an OpenTelemetry SDK language (`telemetry.sdk.language`), if there is one. */
function recipeOf(recipes: Recipes, language: string | null | undefined): string | null {
  const key = { python: 'python', nodejs: 'node', go: 'go', rust: 'rust' }[language ?? ''] as keyof Recipes | undefined;
  return key ? recipes[key] : null;
}

function Share({ part, whole }: { part: number; whole: number }) {
  const share = whole > 0 ? part / whole : 0;
  return (
    <span className="share" title={`${part} of ${whole}`}>
      <span className="share-bar"><span style={{ width: `${Math.round(share * 100)}%` }} /></span> {Math.round(share * 100)}%
    </span>
  );
}

/** Linking health: per service, how many logs carry a session, a person, a trace; the
 * requests in recent recordings no backend log was found for; the fix for each gap. */
function LinkingHealthSection({ recipes }: { recipes: Recipes }) {
  const [from, setFrom] = useState('-24h');
  const { data, error } = useApi<LinkingHealth>(`linking?from=${from}`);
  return (
    <section className="linking" aria-label="Linking health">
      <div className="toolbar">
        <h3>How linkable your logs are</h3>
        <select value={from} onChange={(e) => setFrom(e.target.value)} aria-label="Range">
          <option value="-1h">Last hour</option>
          <option value="-24h">Last 24 hours</option>
          <option value="-7d">Last 7 days</option>
        </select>
      </div>
      {error && <div className="error-banner">Could not load linking health: {error}</div>}
      {!data && !error && <div className="skeleton">Counting…</div>}
      {data && data.services.length === 0 && <p className="muted">No logs in this range.</p>}
      {data && data.services.length > 0 && (
        <table className="table" aria-label="Services">
          <thead>
            <tr><th>Service</th><th className="num">Logs</th><th>With a session</th><th>With a person</th><th>With a trace</th><th>To link more</th></tr>
          </thead>
          <tbody>
            {data.services.map((s) => {
              const recipe = recipeOf(recipes, s.language);
              return (
                <tr key={s.service} data-service={s.service}>
                  <td>{s.service || <span className="muted">(no service.name)</span>}{s.language && <span className="muted small"> · {s.language}</span>}</td>
                  <td className="num">{s.logs.toLocaleString()}</td>
                  <td><Share part={s.with_session} whole={s.logs} /></td>
                  <td><Share part={s.with_distinct_id} whole={s.logs} /></td>
                  <td><Share part={s.with_trace} whole={s.logs} /></td>
                  <td className="fix">
                    {s.fix ?? <span className="muted">Linked</span>}
                    {s.fix && recipe && (
                      <details><summary>The {s.language} recipe</summary><pre>{recipe}</pre></details>
                    )}
                  </td>
                </tr>
              );
            })}
          </tbody>
        </table>
      )}
      {data && (
        <>
          <h3>Requests without backend logs</h3>
          <p className="muted">
            Of {data.requests} backend calls (page loads, fetch, XHR) in the newest {data.recordings_read} recording{data.recordings_read === 1 ? '' : 's'} of the range,{' '}
            {data.linked_requests} found their logs.
          </p>
          {data.unlinked_routes.length > 0 && (
            <table className="table" aria-label="Unlinked routes">
              <thead>
                <tr><th>Route</th><th className="num">Requests</th><th className="num">Sessions</th><th>Fix</th><th /></tr>
              </thead>
              <tbody>
                {data.unlinked_routes.map((r) => (
                  <tr key={`${r.host}${r.route}`}>
                    <td><code>{r.host}{r.route}</code></td>
                    <td className="num">{r.requests}</td>
                    <td className="num">{r.sessions}</td>
                    <td className="fix">{r.fix}</td>
                    <td><Link to={`/replay/${encodeURIComponent(r.example_session)}?tab=network`}>▶ Watch one</Link></td>
                  </tr>
                ))}
              </tbody>
            </table>
          )}
        </>
      )}
    </section>
  );
}

function snippets(project: Project) {
  const host = location.origin;
  return {
    frontend: `import posthog from 'posthog-js'

posthog.init('${project.token}', {
  api_host: '${host}',
  // Adds X-POSTHOG-SESSION-ID and X-POSTHOG-DISTINCT-ID to calls to your API:
  tracing_headers: ['api.example.com'],
})

// Or send the session id yourself:
fetch('/api/checkout', { headers: { 'X-POSTHOG-SESSION-ID': posthog.get_session_id() } })`,
    python: `# pip install opentelemetry-sdk opentelemetry-exporter-otlp-proto-http
# tether_stamp.py: examples/python in Tether's repository (copy it into your project)
from tether_stamp import StampMiddleware, StampASGIMiddleware, setup_logging

provider = setup_logging("${host}/v1/logs", "${project.token}", "api")
app.wsgi_app = StampMiddleware(app.wsgi_app)   # Flask, Django (WSGI)
# app.add_middleware(StampASGIMiddleware)      # FastAPI, Starlette (ASGI)

# Every log of the request now carries sessionId and posthogDistinctId:
logging.getLogger("api").error("payment failed")`,
    node: `// npm i @opentelemetry/api-logs @opentelemetry/sdk-logs @opentelemetry/exporter-logs-otlp-proto @opentelemetry/resources
// tether-stamp.mjs: examples/node in Tether's repository (copy it into your project)
import { logs } from '@opentelemetry/api-logs';
import { setupLogging, stampMiddleware } from './tether-stamp.mjs';

setupLogging({ endpoint: '${host}/v1/logs', token: '${project.token}', serviceName: 'api' });
app.use(stampMiddleware()); // Express: before the routes

app.post('/api/checkout', (req, res) => {
  // Carries sessionId and posthogDistinctId of the caller, via AsyncLocalStorage:
  logs.getLogger('api').emit({ severityText: 'ERROR', body: 'payment failed' });
});`,
    go: `// go get go.opentelemetry.io/contrib/bridges/otelslog go.opentelemetry.io/otel/exporters/otlp/otlplog/otlploghttp
exporter, _ := otlploghttp.New(ctx,
    otlploghttp.WithEndpointURL("${host}/v1/logs"),
    otlploghttp.WithHeaders(map[string]string{"Authorization": "Bearer ${project.token}"}))
provider := sdklog.NewLoggerProvider(sdklog.WithProcessor(sdklog.NewBatchProcessor(exporter)))
logger := otelslog.NewLogger("api", otelslog.WithLoggerProvider(provider))

logger.ErrorContext(ctx, "payment failed",
    "sessionId", r.Header.Get("X-POSTHOG-SESSION-ID"),
    "posthogDistinctId", r.Header.Get("X-POSTHOG-DISTINCT-ID"))`,
    rust: `// Cargo.toml: tether-stamp (crates/tether-stamp in Tether's repository), tracing-subscriber
let provider = tether_stamp::otlp::logger_provider("${host}/v1/logs", "${project.token}", "api")?;
tracing_subscriber::registry().with(tether_stamp::otlp::tracing_layer(&provider)).init();
let app = Router::new()
    .route("/api/checkout", post(checkout))
    .layer(tether_stamp::StampLayer::new());

// In checkout: stamped with the caller's sessionId and posthogDistinctId.
tracing::error!("payment failed");`,
  };
}

function Snippet({ title, code }: { title: string; code: string }) {
  return (
    <section className="snippet">
      <div className="snippet-head">
        <h4>{title}</h4>
        <button className="link-button" onClick={() => navigator.clipboard?.writeText(code)}>copy</button>
      </div>
      <pre>{code}</pre>
    </section>
  );
}

export function GuidePage({ project }: { project: Project }) {
  const s = snippets(project);
  return (
    <div className="list-page guide">
      <h2>Link logs to session replay</h2>
      <LinkingHealthSection recipes={s} />
      <h3>How to link</h3>
      <p>
        Send the frontend's session id and the user's distinct id to your backend, then put them on each log record as the attributes{' '}
        <code>sessionId</code> and <code>posthogDistinctId</code>. Without <code>sessionId</code> a log is not linked to a replay or its errors;
        without <code>posthogDistinctId</code> it is not linked to a person. Either works alone.
      </p>
      <p>
        posthog-js with <code>tracing_headers</code> sends both with every call to your API; a middleware in your backend reads them and
        stamps every log of that request, so no log call has to mention them. The Python, Node and Rust recipes below do that; the Go
        snippet sets them per log. Try it all first with <code>tether demo</code>.
      </p>
      <Snippet title="1. Frontend: posthog-js against Tether" code={s.frontend} />
      <Snippet title="2. Backend: Python" code={s.python} />
      <Snippet title="Node" code={s.node} />
      <Snippet title="Go" code={s.go} />
      <Snippet title="Rust" code={s.rust} />
    </div>
  );
}

