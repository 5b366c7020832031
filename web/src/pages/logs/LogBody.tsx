// A log's body and long values in the drawer, sized to fit: JSON as a collapsible tree
// (children rendered only when opened, so a 100 KB document costs its first level), other
// text cut at 20 lines with "Show all", and a copy button for the whole.
import { useState } from 'react';

const LINES = 20;
/** Characters shown per line allowed before "Show all" (a long line wraps to many). */
const CHARS_PER_LINE = 100;
/** Tree nodes shown per object or array before "N more". */
const CHILDREN = 200;

/** The body: a JSON tree when it is a JSON object or array, else text. */
export function LogBody({ body }: { body: string }) {
  const json = parseJson(body);
  return (
    <div className="log-body">
      <button className="link-button copy" onClick={() => navigator.clipboard?.writeText(body)} title="Copy the whole body">
        copy
      </button>
      {json === undefined ? (
        <LongText text={body} className="message" />
      ) : (
        <div className="message json-tree" data-testid="json-body">
          <JsonNode value={json} depth={0} />
        </div>
      )}
    </div>
  );
}

function parseJson(text: string): unknown {
  const t = text.trim();
  if (!(t.startsWith('{') && t.endsWith('}')) && !(t.startsWith('[') && t.endsWith(']'))) return undefined;
  try {
    return JSON.parse(t);
  } catch {
    return undefined;
  }
}

/** Most characters of a cut text its tooltip holds. */
const TOOLTIP_CHARS = 4000;

/** Text cut to its first lines (or characters) until "Show all". */
export function LongText({ text, className, lines = LINES }: { text: string; className?: string; lines?: number }) {
  const [all, setAll] = useState(false);
  const cut = cutText(text, lines);
  return (
    // A cut text shows the rest on hover too (up to a few pages of it).
    <div className={className} title={all || cut === null ? undefined : text.slice(0, TOOLTIP_CHARS)}>
      {all || cut === null ? text : `${cut}…`}
      {cut !== null && (
        <div>
          <button className="link-button" onClick={() => setAll(!all)}>
            {all ? 'Show less' : `Show all (${count(text.split('\n').length, 'line')}, ${count(text.length, 'character')})`}
          </button>
        </div>
      )}
    </div>
  );
}

/** The first `lines` lines (at most CHARS_PER_LINE characters each), or null when that is all of it. */
function cutText(text: string, lines: number): string | null {
  let end = 0;
  for (let i = 0; i < lines && end >= 0; i++) end = text.indexOf('\n', end + (i === 0 ? 0 : 1));
  const limit = Math.min(end < 0 ? text.length : end, lines * CHARS_PER_LINE);
  return limit < text.length ? text.slice(0, limit) : null;
}

function JsonNode({ value, depth, name }: { value: unknown; depth: number; name?: string }) {
  const [open, setOpen] = useState(depth < 1);
  const label = name === undefined ? null : <span className="json-key">{JSON.stringify(name)}: </span>;
  if (value === null || typeof value !== 'object') {
    const text = JSON.stringify(value);
    return (
      <div className="json-leaf">
        {label}
        <span className={`json-${typeof value}`}>{text.length > 300 ? <LongText text={text} lines={3} /> : text}</span>
      </div>
    );
  }
  const entries: [string | undefined, unknown][] = Array.isArray(value)
    ? value.map((v) => [undefined, v])
    : Object.entries(value as Record<string, unknown>);
  const [openBracket, closeBracket] = Array.isArray(value) ? ['[', ']'] : ['{', '}'];
  return (
    <div className="json-node">
      <button className="json-toggle" aria-expanded={open} onClick={() => setOpen(!open)}>
        {open ? '▾' : '▸'}
      </button>
      {label}
      {openBracket}
      {!open && (
        <span className="muted">
          {' '}
          {entries.length} {Array.isArray(value) ? 'items' : 'keys'} {closeBracket}
        </span>
      )}
      {open && (
        <>
          <div className="json-children">
            {entries.slice(0, CHILDREN).map(([k, v], i) => (
              <JsonNode key={k ?? i} name={k} value={v} depth={depth + 1} />
            ))}
            {entries.length > CHILDREN && <div className="muted">… {entries.length - CHILDREN} more (copy the body for all)</div>}
          </div>
          {closeBracket}
        </>
      )}
    </div>
  );
}

const count = (n: number, what: string) => `${n.toLocaleString()} ${what}${n === 1 ? '' : 's'}`;
