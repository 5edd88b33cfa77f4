// Who is signed in, as GET /api/v1/auth/session answered last. Memory only: the CSRF token of a
// cookie session is never stored (after a reload it is read again from GET /auth/session).
export type AuthMethod = 'session' | 'admin-token' | 'api-token' | null;

export interface SessionInfo {
  authenticated: boolean;
  method: AuthMethod;
  csrfToken: string | null;
  expiresAt: string | null;
  passwordSet: boolean;
}

export const session = $state({
  /** GET /auth/session has answered at least once in this page load. */
  checked: false,
  authenticated: false,
  method: null as AuthMethod,
  csrfToken: null as string | null,
  expiresAt: null as string | null,
  passwordSet: true,
});

export function applySession(info: Partial<SessionInfo> | null): void {
  session.checked = true;
  session.authenticated = !!info?.authenticated;
  session.method = info?.authenticated ? (info.method ?? null) : null;
  session.csrfToken = info?.authenticated && info.method === 'session' ? (info.csrfToken ?? null) : null;
  session.expiresAt = info?.authenticated ? (info.expiresAt ?? null) : null;
  if (typeof info?.passwordSet === 'boolean') session.passwordSet = info.passwordSet;
}

/** Forget the session (after a 401 or signing out); passwordSet stays as it was. */
export function dropSession(): void {
  session.authenticated = false;
  session.method = null;
  session.csrfToken = null;
  session.expiresAt = null;
}
