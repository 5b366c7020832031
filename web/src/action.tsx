// A change made from a page (save, revoke, remove …) and what came of it, shown next to it:
// the page's own words on success, the server's one-line reason on failure.
import { useState } from 'react';
import { ApiError } from './api';

export type Outcome = { error: boolean; text: string } | null;

/** `after` runs once each change is over, whether it worked or not: reload what it touched. */
export function useAction(after?: () => void) {
  const [outcome, setOutcome] = useState<Outcome>(null);
  /** Runs `change`; says `done` when it worked (nothing when `done` is empty). True when it worked. */
  const run = async (change: () => Promise<unknown>, done = ''): Promise<boolean> => {
    try {
      await change();
      setOutcome(done ? { error: false, text: done } : null);
      return true;
    } catch (e) {
      setOutcome({ error: true, text: (e as ApiError).message });
      return false;
    } finally {
      after?.();
    }
  };
  return { outcome, run };
}

/** An action's outcome inline (`banner`: as a block above a list). */
export function Outcome({ outcome, banner = false }: { outcome: Outcome; banner?: boolean }) {
  if (!outcome) return null;
  const className = banner ? (outcome.error ? 'error-banner' : 'notice') : outcome.error ? 'error-text' : 'muted';
  return banner ? (
    <div className={className} role="status">{outcome.text}</div>
  ) : (
    <span className={className} role="status">{outcome.text}</span>
  );
}
