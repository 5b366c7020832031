// Keyboard shortcuts of the whole UI: `?` shows them all; `g` then a letter goes to a
// section of the project on screen. Pages add their own (listed here too).
import { useEffect } from 'react';
import { navigate } from './router';

const GO: Record<string, string> = { l: '/logs', r: '/replay', e: '/errors', a: '/alerts', s: '/settings' };

export const SHORTCUTS: [string, string][] = [
  ['?', 'Show or hide this help'],
  ['g then l / r / e / a / s', 'Go to Logs, Replays, Errors, Alerts, Settings'],
  ['/', 'Search logs (on the logs page)'],
  ['↑ ↓', 'Move through log lines'],
  ['Enter', 'Open the log line under the cursor'],
  ['Esc', 'Close the log drawer or this help'],
];

function typing(e: KeyboardEvent): boolean {
  const t = e.target as HTMLElement | null;
  return !!t && (t.tagName === 'INPUT' || t.tagName === 'TEXTAREA' || t.tagName === 'SELECT' || t.isContentEditable);
}

export function useShortcuts(toggleHelp: () => void) {
  useEffect(() => {
    let pendingG = false;
    const onKey = (e: KeyboardEvent) => {
      if (typing(e) || e.metaKey || e.ctrlKey || e.altKey) return;
      if (e.key === '?') {
        toggleHelp();
      } else if (pendingG && GO[e.key]) {
        navigate(GO[e.key]);
      } else if (e.key === '/' && location.pathname.includes('/logs')) {
        const search = document.querySelector<HTMLInputElement>('input[aria-label="Search logs"]');
        if (search) {
          e.preventDefault();
          search.focus();
        }
      }
      pendingG = e.key === 'g';
    };
    window.addEventListener('keydown', onKey);
    return () => window.removeEventListener('keydown', onKey);
  }, [toggleHelp]);
}

export function ShortcutHelp({ onClose }: { onClose: () => void }) {
  useEffect(() => {
    const onKey = (e: KeyboardEvent) => e.key === 'Escape' && onClose();
    window.addEventListener('keydown', onKey);
    return () => window.removeEventListener('keydown', onKey);
  }, [onClose]);
  return (
    <div className="modal-backdrop" onClick={onClose}>
      <div className="modal" role="dialog" aria-label="Keyboard shortcuts" onClick={(e) => e.stopPropagation()}>
        <h3>Keyboard shortcuts</h3>
        <table className="table">
          <tbody>
            {SHORTCUTS.map(([keys, what]) => (
              <tr key={keys}>
                <td>
                  <kbd>{keys}</kbd>
                </td>
                <td>{what}</td>
              </tr>
            ))}
          </tbody>
        </table>
        <button className="primary" onClick={onClose}>
          Close
        </button>
      </div>
    </div>
  );
}
