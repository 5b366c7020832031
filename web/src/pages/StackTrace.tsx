import { useState } from 'react';

import type { Exception, Frame } from '../api';

function FrameLine({ frame, raw }: { frame: Frame; raw: boolean }) {
  const shown = raw && frame.raw ? frame.raw : frame;
  const where = `${shown.filename ?? '?'}:${shown.lineno ?? '?'}:${shown.colno ?? '?'}`;
  return (
    <li className={frame.in_app ? 'in-app' : 'library'}>
      <code>{shown.function ?? '?'}</code> <span className="muted">{where}</span>
      {!raw && frame.context_line !== undefined && (
        <pre className="source-context" aria-label="Source">
          {(frame.pre_context ?? []).map((l, i) => (
            <div key={`pre${i}`}>{l}</div>
          ))}
          <div className="context-line">{frame.context_line}</div>
          {(frame.post_context ?? []).map((l, i) => (
            <div key={`post${i}`}>{l}</div>
          ))}
        </pre>
      )}
    </li>
  );
}

/**
 * Exceptions with their frames, innermost first. Frames resolved through a source map show the
 * original file, line and source around it; "Show raw" shows them as the browser reported them.
 */
export function StackTrace({ exceptions }: { exceptions: Exception[] }) {
  const [raw, setRaw] = useState(false);
  const anyResolved = exceptions.some((ex) => ex.stacktrace?.frames?.some((f) => f.resolved));
  return (
    <div className="stack-trace">
      {anyResolved && (
        <label className="check small">
          <input type="checkbox" checked={raw} onChange={(e) => setRaw(e.target.checked)} /> Show raw (minified) frames
        </label>
      )}
      {exceptions.map((ex, i) => (
        <div key={i} className="exception">
          <div>
            <strong>{ex.type ?? 'Error'}</strong>: {ex.value}
          </div>
          <ol className="frames">
            {(ex.stacktrace?.frames ?? [])
              .slice()
              .reverse()
              .map((f, j) => (
                <FrameLine key={j} frame={f} raw={raw} />
              ))}
          </ol>
        </div>
      ))}
    </div>
  );
}
