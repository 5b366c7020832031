// The "?" beside the search box: the query language on one card (the same grammar the API's
// `q=`, alerts and links use; README's "Searching logs" says the same).
import { useState } from 'react';

const EXAMPLES: [string, string][] = [
  ['payment declined', 'both words in the message (any case)'],
  ['"payment declined"', 'the exact phrase'],
  ['timeout OR refused', 'either word'],
  ['-healthcheck   NOT healthcheck', 'without the word'],
  ['(a OR b) AND c', 'group with parentheses; a space means AND'],
  ['service:payments   service=payments', 'a service (also: level, trace, session, person)'],
  ['level:error   severity>=warn', 'a severity, or at least one'],
  ['attr.http.route:/pay   @http.route:/pay', 'an attribute (as text)'],
  ['attr.http.status_code>499', 'a number compared: >, >=, <, <='],
  ['attr.user_id:*   -session:*', 'has the attribute / has no session'],
  ['service!=web   service:"billing api"', 'not equal / a value with spaces'],
];

export function QueryHelp() {
  const [open, setOpen] = useState(false);
  return (
    <span className="query-help">
      <button className="link-button" aria-expanded={open} aria-label="Query syntax" title="Query syntax" onClick={() => setOpen(!open)}>
        ?
      </button>
      {open && (
        <div className="popover" role="dialog" aria-label="Query syntax">
          <table>
            <tbody>
              {EXAMPLES.map(([query, meaning]) => (
                <tr key={query}>
                  <td>
                    <code>{query}</code>
                  </td>
                  <td>{meaning}</td>
                </tr>
              ))}
            </tbody>
          </table>
          <p className="muted">AND, OR and NOT are written in capitals. Quote text that has a colon: "error: timeout".</p>
        </div>
      )}
    </span>
  );
}
