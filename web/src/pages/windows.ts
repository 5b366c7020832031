// Which browser tab (rrweb "window") of a session is on screen when: the one where the user
// last did something, like PostHog's player. Pure, so the player only asks.

export type WindowEvents = { window_id: string; events: { timestamp: number; type: number; data?: { source?: number } }[] };

/** A moment from which one window is on screen. */
export type Switch = { at: number; windowId: string };

// rrweb incremental sources a person causes: mouse move, mouse interaction, scroll,
// input, touch move, drag.
const ACTIVITY = new Set([1, 2, 3, 5, 6, 12]);

/**
 * When the window on screen changes: it starts with the window recorded first, and moves to
 * another window at its first activity after the current one's last. Windows without any
 * full snapshot cannot be shown and are left out.
 */
export function windowSwitches(windows: WindowEvents[]): Switch[] {
  const playable = windows.filter((w) => w.events.some((e) => e.type === 2));
  if (playable.length === 0) return [];
  const starts = playable.map((w) => ({ windowId: w.window_id, at: Math.min(...w.events.map((e) => e.timestamp)) }));
  starts.sort((a, b) => a.at - b.at);
  const activity = playable
    .flatMap((w) => w.events.filter((e) => e.type === 3 && ACTIVITY.has(e.data?.source ?? -1)).map((e) => ({ at: e.timestamp, windowId: w.window_id })))
    .sort((a, b) => a.at - b.at);
  const switches: Switch[] = [starts[0]];
  for (const a of activity) {
    if (a.windowId !== switches[switches.length - 1].windowId) switches.push(a);
  }
  return switches;
}

/** The window on screen at `t` (the first one before anything happened). */
export function windowAt(switches: Switch[], t: number): string | null {
  let current = switches[0]?.windowId ?? null;
  for (const s of switches) {
    if (s.at > t) break;
    current = s.windowId;
  }
  return current;
}

/** The next moment after `t` at which another window comes on screen, if any. */
export function nextSwitch(switches: Switch[], t: number): Switch | null {
  return switches.find((s) => s.at > t) ?? null;
}
