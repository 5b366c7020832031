import { useState } from 'react';
import { Outcome, useAction } from '../action';
import { api, IngestLimits, NetworkCapture, Privacy, Project, ProjectSettings, Retention } from '../api';
import { Link } from '../router';
import { GuidePage } from './Guide';
import { useCan, useSession } from '../session';

const CAPTURE: [keyof ProjectSettings, string][] = [
  ['session_recording', 'Record sessions (replays)'],
  ['console_log_recording', 'Record browser console logs in replays'],
  ['exception_autocapture', 'Capture uncaught exceptions'],
];

const NETWORK: [keyof NetworkCapture, string][] = [
  ['requests', 'Record network requests (URL, status, timings) in replays'],
  ['headers', 'Also their headers (never Authorization or cookies)'],
  ['bodies', 'Also their bodies (posthog-js redacts ones that look like passwords, tokens or card numbers)'],
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
        <fieldset>
          <legend>Network requests in replays</legend>
          <p className="muted">Each request shows the backend logs it caused in the replay&apos;s Network tab.</p>
          {NETWORK.map(([key, label]) => (
            <label key={key} className="check">
              <input
                type="checkbox"
                checked={draft.network[key]}
                disabled={key !== 'requests' && !draft.network.requests}
                onChange={(e) => setDraft({ ...draft, network: { ...draft.network, [key]: e.target.checked } })}
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
