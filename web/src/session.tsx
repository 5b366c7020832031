// Who is logged in and which project is on screen, for every page: the project comes from
// the URL (`/project/{id}/…`), so a shared link opens the same project for a colleague.
import { createContext, useContext } from 'react';
import type { Project, Role, User } from './api';
import { atLeast } from './api';

export interface Session {
  user: User;
  projects: Project[];
  /** The project in the URL. */
  project: Project;
  /** Loads the project list again (after creating or renaming one). */
  reloadProjects: () => Promise<void>;
}

export const SessionContext = createContext<Session | null>(null);

export function useSession(): Session {
  const s = useContext(SessionContext);
  if (!s) throw new Error('useSession outside a logged-in page');
  return s;
}

/** Whether the logged-in person's role in the project on screen is at least `needed` (the
 * server checks it too). */
export function useCan(needed: Role): boolean {
  return atLeast(useSession().project.role ?? undefined, needed);
}
