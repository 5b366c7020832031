// The field sidebar: severities, services and the top attribute keys of the current search
// with their counts. A value's name adds `field:value` to the query; its "−" excludes it
// (`-field:value`). Collapsible; collapsed at first in windows narrower than 1200 px.
import { useState } from 'react';
import type { Facets } from '../../api';
import { addTerm, queryValue } from './query';

/** Whether `key` can follow `attr.` in a query (the parser's field-name shape). */
const QUERYABLE_KEY = /^[\p{L}\p{N}_.$@-]+$/u;

function ValueRow({ url, field, value, count, label }: { url: URL; field: string; value: string; count: number; label?: string }) {
  const term = `${field}:${queryValue(value)}`;
  return (
    <li className="field-value">
      <button className="link-button" title={`Only ${term}`} onClick={() => addTerm(url, term)}>
        {label ?? (value || '(none)')}
      </button>
      <span className="count">{count.toLocaleString()}</span>
      <button className="link-button exclude" title={`Without ${term}`} aria-label={`Exclude ${term}`} onClick={() => addTerm(url, `-${term}`)}>
        −
      </button>
    </li>
  );
}

export function FieldSidebar({ url, facets }: { url: URL; facets: Facets | null }) {
  const [open, setOpen] = useState(() => window.innerWidth >= 1200);
  const [expanded, setExpanded] = useState<string | null>(null);
  if (!open)
    return (
      <button className="field-sidebar-toggle" onClick={() => setOpen(true)} title="Show the fields of this search">
        Fields ›
      </button>
    );
  return (
    <aside className="field-sidebar" aria-label="Fields">
      <div className="field-sidebar-head">
        <strong>Fields</strong>
        <button className="link-button" onClick={() => setOpen(false)} aria-label="Hide fields">
          ‹
        </button>
      </div>
      {!facets && <p className="muted">Counting…</p>}
      {facets && (
        <>
          {facets.sampled && <p className="muted small">Counts of the newest matches</p>}
          <h5>Severity</h5>
          <ul>
            {facets.severities.map((s) => (
              <ValueRow key={s.value} url={url} field="level" value={s.value} count={s.count} />
            ))}
          </ul>
          <h5>Service</h5>
          <ul>
            {facets.services.slice(0, 20).map((s) => (
              <ValueRow key={s.value} url={url} field="service" value={s.value} count={s.count} />
            ))}
          </ul>
          <h5>Attributes</h5>
          <ul>
            {facets.attributes
              .filter((a) => QUERYABLE_KEY.test(a.key))
              .map((a) => (
                <li key={a.key} className="field-key">
                  <button className="link-button" aria-expanded={expanded === a.key} onClick={() => setExpanded(expanded === a.key ? null : a.key)}>
                    {expanded === a.key ? '▾' : '▸'} {a.key}
                  </button>
                  <span className="count">{a.count.toLocaleString()}</span>
                  {expanded === a.key && (
                    <ul>
                      {a.values.map((v) => (
                        <ValueRow key={v.value} url={url} field={`attr.${a.key}`} value={v.value} count={v.count} />
                      ))}
                    </ul>
                  )}
                </li>
              ))}
          </ul>
        </>
      )}
    </aside>
  );
}
