import type { AuthLevel } from './api';
import { safeReturnTo } from './return-to';

/**
 * Where the browser goes to log in with eID (a top-level navigation: the provider's pages are
 * not ours). With `stepUp`, the login raises the current session's level. The return path is
 * checked here and again by /login/eid-done before it is followed.
 */
export function eidLoginUrl(options: {
  level: Exclude<AuthLevel, 'two-factor'>;
  returnTo?: string | undefined;
  stepUp?: boolean;
}): string {
  const query = new URLSearchParams({ level: options.level });
  if (options.stepUp) query.set('stepUp', 'true');
  if (options.returnTo) query.set('returnTo', safeReturnTo(options.returnTo));
  return `/api/eid/login?${query.toString()}`;
}
