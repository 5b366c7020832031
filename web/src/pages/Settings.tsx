import { useState } from 'react';
import { Outcome, useAction } from '../action';
import { api, IngestLimits, Privacy, Project, ProjectSettings, Retention } from '../api';
import { Link } from '../router';
import { useCan, useSession } from '../session';

const CAPTURE: [keyof ProjectSettings, string][] = [
  ['session_recording', 'Record sessions (replays)'],
  ['console_log_recording', 'Record browser console logs in replays'],
  ['exception_autocapture', 'Capture uncaught exceptions'],
];

const RATES: [keyof IngestLimits, string][] = [
  ['events_per_second', 'Events per second'],
  ['recording_bytes_per_second', 'Recording bytes per second'],
];

const KEEP: [keyof Retention, string][] = [
  ['logs_days', 'Logs'],
  ['events_days', 'Events and errors'],
  ['recordings_days', 'Session replays'],
];

const SELECTORS: [keyof Privacy, string, string][] = [
  ['mask_text_selector', 'Mask the text of', '.private, [data-mask]'],
  ['block_selector', 'Do not record', '#payment-form, .chat-widget'],
];

/**
 * Why the browser's own CSS parser refuses `selector`, or null when it parses (or is empty).
 * rrweb treats a selector that does not parse as matching nothing, so a typo would silently
 * mask nothing: the server does not parse CSS, this check is what catches it.
 */
function selectorError(selector: string): string | null {
  if (!selector.trim()) return null;
  try {
    document.createDocumentFragment().querySelector(selector);
    return null;
  } catch {
    return `not a CSS selector: ${selector}`;
  }
}

/** Masking and blocking in replays, delivered to posthog-js with its remote config. */
function PrivacyFields({ privacy, onChange }: { privacy: Privacy; onChange: (p: Privacy) => void }) {
  return (
    <fieldset>
      <legend>Privacy in replays</legend>
      <p className="muted">
        Applied by the browser before anything is sent. Options given to <code>posthog.init</code> in the app take precedence.
      </p>
      <label className="check">
        <input
          type="checkbox"
          checked={privacy.mask_all_inputs}
          onChange={(e) => onChange({ ...privacy, mask_all_inputs: e.target.checked })}
        />
        Mask everything typed into inputs
      </label>
      {SELECTORS.map(([key, label, example]) => {
        const error = selectorError(privacy[key] as string);
        return (
          <label key={key} className="selector">
            <span>{label} (CSS selector)</span>
            <input
              aria-label={label}
              placeholder={example}
              value={privacy[key] as string}
              aria-invalid={error !== null}
              onChange={(e) => onChange({ ...privacy, [key]: e.target.value })}
            />
            {error && <span className="error-text">{error}</span>}
          </label>
        );
      })}
    </fieldset>
  );
}

/** Renames the project (admins): its token, data and links stay. */
function ProjectName({ project }: { project: Project }) {
  const { reloadProjects } = useSession();
  const admin = useCan('admin');
  const [name, setName] = useState(project.name);
  const { outcome, run } = useAction();
  return (
    <form
      className="toolbar"
      onSubmit={async (e) => {
        e.preventDefault();
        const body = JSON.stringify({ name });
        await run(async () => {
          await api(`/api/projects/${project.id}`, { method: 'PATCH', body });
          await reloadProjects();
        }, 'Renamed.');
      }}
    >
      <label>
        Project name <input aria-label="Project name" value={name} onChange={(e) => setName(e.target.value)} disabled={!admin} />
      </label>
      {admin && <button type="submit" disabled={name.trim() === project.name}>Rename</button>}
      <Outcome outcome={outcome} />
    </form>
  );
}

/** One labelled number input per field of `values`, each within `min`..`max`. */
function NumberFields<T extends { [K in keyof T]: number }>({
  fields,
  values,
  min,
  max,
  ariaLabel = (label) => label,
  onChange,
}: {
  fields: [keyof T, string][];
  values: T;
  min: number;
  max?: number;
  ariaLabel?: (label: string) => string;
  onChange: (values: T) => void;
}) {
  return (
    <>
      {fields.map(([key, label]) => (
        <label key={String(key)} className="days">
          <span>{label}</span>
          <input
            type="number"
            min={min}
            max={max}
            required
            aria-label={ariaLabel(label)}
            value={values[key]}
            onChange={(e) => onChange({ ...values, [key]: e.target.valueAsNumber })}
          />
        </label>
      ))}
    </>
  );
}

/** What the project's SDKs capture (through remote config) and how long its data is kept. */
function CaptureAndRetention({ project }: { project: Project }) {
  const admin = useCan('admin');
  // The project list the page got with the session carries the settings.
  const { reloadProjects } = useSession();
  const saved = project.settings;
  const [draft, setDraft] = useState<ProjectSettings>(saved);
  const { outcome, run } = useAction();
  const changed = JSON.stringify(draft) !== JSON.stringify(saved);
  const invalid = SELECTORS.some(([key]) => selectorError(draft.privacy[key] as string) !== null);
  return (
    <section>
      <h3>Capture, privacy and retention</h3>
      <form
        className="settings-form"
        onSubmit={async (e) => {
          e.preventDefault();
          const body = JSON.stringify(draft);
          await run(async () => {
            const updated = await api<Project>(`/api/projects/${project.id}/settings`, { method: 'PATCH', body });
            setDraft(updated.settings);
            await reloadProjects();
          }, 'Saved.');
        }}
      >
        <fieldset>
          <legend>The SDKs of this project</legend>
          {CAPTURE.map(([key, label]) => (
            <label key={key} className="check">
              <input
                type="checkbox"
                checked={draft[key] as boolean}
                onChange={(e) => setDraft({ ...draft, [key]: e.target.checked })}
              />
              {label}
            </label>
          ))}
        </fieldset>
        <PrivacyFields privacy={draft.privacy} onChange={(privacy) => setDraft({ ...draft, privacy })} />
        <fieldset>
          <legend>Keep data for (days)</legend>
          <p className="muted">Older data is deleted in the background, about once an hour. 1 to 3650 days.</p>
          <NumberFields
            fields={KEEP}
            values={draft.retention}
            min={1}
            max={3650}
            ariaLabel={(label) => `${label} retention in days`}
            onChange={(retention) => setDraft({ ...draft, retention })}
          />
        </fieldset>
        <fieldset>
          <legend>Ingest limits</legend>
          <p className="muted">
            How fast this project&apos;s SDKs may send, in bursts of up to 5 seconds&apos; worth; past it capture
            answers 503 and posthog-js retries later. 0 is no limit.
          </p>
          <NumberFields
            fields={RATES}
            values={draft.ingest_limits}
            min={0}
            onChange={(ingest_limits) => setDraft({ ...draft, ingest_limits })}
          />
        </fieldset>
        <div className="toolbar">
          <button className="primary" type="submit" disabled={!admin || !changed || invalid}>Save settings</button>
          {!admin && <span className="muted">Only admins change settings.</span>}
          <Outcome outcome={outcome} />
        </div>
      </form>
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

export function SettingsPage({ project }: { project: Project }) {
  return (
    <div className="list-page">
      <h2>Settings of {project.name}</h2>
      <ProjectName project={project} />
      <h3>Project token</h3>
      <p className="muted">Public and write-only: SDKs and OTLP exporters send data with it.</p>
      <pre className="token">{project.token}</pre>
      <CaptureAndRetention project={project} />
      <p className="muted">
        Personal API keys (for the API and posthog-cli) are in <Link to="/account">your account</Link>.
      </p>
      <GuidePage project={project} />
    </div>
  );
}
