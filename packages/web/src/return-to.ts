/**
 * The path to go to after login (security invariant 6: "a return path after login is a
 * same-origin relative path, never a URL"). Anything else, including protocol-relative
 * `//host`, `/\host` (browsers read the backslash as a slash), a scheme, or control characters
 * that browsers strip from URLs (so `/\t/host` would become `//host`), falls back to `/`.
 */
export function safeReturnTo(raw: string | null | undefined): string {
  const fallback = '/';
  if (!raw || raw.length > 2048) return fallback;
  if (!raw.startsWith('/') || raw.startsWith('//') || raw.startsWith('/\\')) return fallback;
  // Control characters, whitespace and backslashes have no place in our own paths.
  // biome-ignore lint/suspicious/noControlCharactersInRegex: rejecting them is the point
  if (/[\u0000-\u0020\u007f\\]/.test(raw)) return fallback;

  // Belt and braces: resolved against a stand-in origin, the path must stay on it.
  const base = 'https://kuvert.invalid';
  let url: URL;
  try {
    url = new URL(raw, base);
  } catch {
    return fallback;
  }
  if (url.origin !== base) return fallback;
  const path = `${url.pathname}${url.search}${url.hash}`;
  // Returning to the login page itself would be a loop.
  if (url.pathname === '/login') return fallback;
  return path;
}

/** The login address that brings the user back to `path` afterwards. */
export function loginPath(path: string): string {
  return `/login?returnTo=${encodeURIComponent(safeReturnTo(path))}`;
}
