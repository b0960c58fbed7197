/**
 * The path to go to after login (security invariant 6: "a return path after login is a
 * same-origin relative path, never a URL"). Anything else falls back to `/`.
 *
 * The decision is made on the path as a browser will resolve it, not on the text: dot segments
 * (`/.//evil.example`, `/a/..//evil.example`, `/%2e//evil.example`) resolve to
 * `//evil.example`, which as a link is protocol-relative. So the path is resolved against a
 * stand-in origin with the WHATWG URL parser (the browser's own), must stay on that origin, and
 * its resolved form must not begin with `//` or `/\` either literally or once percent-decoded
 * (a router or server that decodes `%2F` would turn it into one). Control characters,
 * whitespace and backslashes are refused before that: browsers strip tabs and newlines from
 * URLs (`/\t/host` would become `//host`) and read a backslash as a slash.
 */
export function safeReturnTo(raw: string | null | undefined): string {
  const fallback = '/';
  if (!raw || raw.length > 2048 || !raw.startsWith('/')) return fallback;
  // biome-ignore lint/suspicious/noControlCharactersInRegex: rejecting them is the point
  if (/[\u0000-\u0020\u007f\\]/.test(raw)) return fallback;

  let url: URL;
  try {
    url = new URL(raw, base);
  } catch {
    return fallback;
  }
  if (!staysOnTheOrigin(url)) return fallback;
  // What a router or server that decodes `%2F`, `%2E` or `%5C` would make of it must stay too.
  let decoded: string;
  try {
    decoded = decodeURIComponent(url.pathname);
  } catch {
    // Broken percent-encoding is no path of ours.
    return fallback;
  }
  // biome-ignore lint/suspicious/noControlCharactersInRegex: decoded control characters too
  if (/[\u0000-\u001f\u007f\\]/.test(decoded) || !staysOnTheOrigin(resolve(decoded))) {
    return fallback;
  }
  // Returning to the login page itself would be a loop.
  if (url.pathname === '/login') return fallback;
  return `${url.pathname}${url.search}${url.hash}`;
}

const base = 'https://kuvert.invalid';

function resolve(path: string): URL | undefined {
  try {
    return new URL(path, base);
  } catch {
    return undefined;
  }
}

/** Resolved against the stand-in origin, still on it, and not readable as `//host`. */
function staysOnTheOrigin(url: URL | undefined): boolean {
  return (
    url !== undefined &&
    url.origin === base &&
    !url.pathname.startsWith('//') &&
    !url.pathname.startsWith('/\\')
  );
}

/** The login address that brings the user back to `path` afterwards. */
export function loginPath(path: string): string {
  return `/login?returnTo=${encodeURIComponent(safeReturnTo(path))}`;
}
