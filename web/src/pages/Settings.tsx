import { useEffect, useState } from 'react';
import { api, ApiError } from '../api';

type Project = { id: number; name: string; token: string };
type Key = { id: number; name: string; project_id: number | null; prefix: string; created_at_ms: number };

function ApiKeys({ project }: { project: Project }) {
  const [keys, setKeys] = useState<Key[] | null>(null);
  const [name, setName] = useState('');
  const [secret, setSecret] = useState<string | null>(null);
  const [error, setError] = useState<string | null>(null);
  const load = () => api<{ results: Key[] }>('/api/api_keys').then((r) => setKeys(r.results), (e: ApiError) => setError(e.message));
  useEffect(() => {
    load();
  }, []);
  return (
    <section>
      <h3>Personal API keys</h3>
      <p className="muted">Secret keys for reading the API (<code>Authorization: Bearer phx_…</code>). A new key is shown once.</p>
      {error && <div className="error-banner">{error}</div>}
      <form
        className="toolbar"
        onSubmit={async (e) => {
          e.preventDefault();
          const created = await api<{ secret: string }>(`/api/projects/${project.id}/api_keys`, {
            method: 'POST',
            body: JSON.stringify({ name: name || 'unnamed key' }),
          });
          setSecret(created.secret);
          setName('');
          load();
        }}
      >
        <input placeholder="Key name, e.g. CI" value={name} onChange={(e) => setName(e.target.value)} aria-label="Key name" />
        <button className="primary" type="submit">Create key</button>
      </form>
      {secret && (
        <div className="notice">
          New key (copy it now, it is not shown again): <code data-testid="new-key">{secret}</code>
        </div>
      )}
      <table className="table">
        <tbody>
          {keys?.map((k) => (
            <tr key={k.id}>
              <td>{k.name}</td>
              <td><code>{k.prefix}…</code></td>
              <td className="muted">{k.project_id === null ? 'all projects' : `project ${k.project_id}`}</td>
              <td className="muted">{new Date(k.created_at_ms).toLocaleDateString()}</td>
              <td>
                <button
                  className="link-button"
                  onClick={async () => {
                    await api(`/api/api_keys/${k.id}`, { method: 'DELETE' });
                    load();
                  }}
                >
                  Revoke
                </button>
              </td>
            </tr>
          ))}
        </tbody>
      </table>
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
import logging
from opentelemetry.sdk._logs import LoggerProvider, LoggingHandler
from opentelemetry.sdk._logs.export import BatchLogRecordProcessor
from opentelemetry.exporter.otlp.proto.http._log_exporter import OTLPLogExporter

provider = LoggerProvider()
provider.add_log_record_processor(BatchLogRecordProcessor(OTLPLogExporter(
    endpoint="${host}/v1/logs", headers={"Authorization": "Bearer ${project.token}"})))
logging.getLogger().addHandler(LoggingHandler(logger_provider=provider))

# In a request handler:
session_id = request.headers.get("X-POSTHOG-SESSION-ID")
user_id = request.headers.get("X-POSTHOG-DISTINCT-ID")
logging.error("payment failed", extra={"sessionId": session_id, "posthogDistinctId": user_id})`,
    node: `// npm i @opentelemetry/sdk-logs @opentelemetry/exporter-logs-otlp-http @opentelemetry/api-logs
import { LoggerProvider, BatchLogRecordProcessor } from '@opentelemetry/sdk-logs';
import { OTLPLogExporter } from '@opentelemetry/exporter-logs-otlp-http';

const provider = new LoggerProvider({ processors: [new BatchLogRecordProcessor(new OTLPLogExporter({
  url: '${host}/v1/logs', headers: { Authorization: 'Bearer ${project.token}' } }))] });
const logger = provider.getLogger('api');

app.post('/api/checkout', (req, res) => {
  logger.emit({ severityText: 'ERROR', body: 'payment failed', attributes: {
    sessionId: req.get('X-POSTHOG-SESSION-ID'), posthogDistinctId: req.get('X-POSTHOG-DISTINCT-ID') } });
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
    rust: `// opentelemetry-otlp (http) + opentelemetry-appender-tracing
tracing::error!(sessionId = %session_id, posthogDistinctId = %user_id, "payment failed");`,
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
      <p>
        Send the frontend's session id and the user's distinct id to your backend, then put them on each log record as the attributes{' '}
        <code>sessionId</code> and <code>posthogDistinctId</code>. Without <code>sessionId</code> a log is not linked to a replay or its errors;
        without <code>posthogDistinctId</code> it is not linked to a person. Either works alone.
      </p>
      <Snippet title="1. Frontend: posthog-js against Tether" code={s.frontend} />
      <Snippet title="2. Backend: Python" code={s.python} />
      <Snippet title="Node" code={s.node} />
      <Snippet title="Go" code={s.go} />
      <Snippet title="Rust" code={s.rust} />
    </div>
  );
}

export function SettingsPage({ project }: { project: Project }) {
  return (
    <div className="list-page">
      <h2>Settings</h2>
      <h3>Project token</h3>
      <p className="muted">Public and write-only: SDKs and OTLP exporters send data with it.</p>
      <pre className="token">{project.token}</pre>
      <ApiKeys project={project} />
      <GuidePage project={project} />
    </div>
  );
}
