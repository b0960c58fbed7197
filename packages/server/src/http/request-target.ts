/**
 * The request target as a path, whatever form it came in (RFC 9112 §3.2): origin-form
 * `/letters?x=1` as it is, absolute-form `http://evil.example/letters?x=1` without its scheme and
 * authority, and anything else (asterisk-form, authority-form, garbage) as `/`. Whatever is built
 * from a request's URL (a redirect's Location, a problem's instance) starts from this, so it never
 * carries a host the client chose.
 */
export function pathAndQueryOf(rawUrl: string): string {
  if (rawUrl.startsWith('/')) return rawUrl;
  const absolute = absoluteFormOf(rawUrl);
  return absolute ? `${absolute.pathname}${absolute.search}` : '/';
}

/** The path alone, without the query string (which may carry secrets). */
export function pathOf(rawUrl: string): string {
  const target = pathAndQueryOf(rawUrl);
  const query = target.indexOf('?');
  return query === -1 ? target : target.slice(0, query);
}

/**
 * The host a request is for: the authority of an absolute-form target, which RFC 9112 §3.2.2
 * says replaces the Host header, or else the Host header as Fastify reads it.
 */
export function targetHostOf(request: { url: string; host: string }): string {
  if (request.url.startsWith('/')) return request.host;
  return absoluteFormOf(request.url)?.host ?? request.host;
}

function absoluteFormOf(rawUrl: string): URL | undefined {
  if (!/^https?:\/\//i.test(rawUrl)) return undefined;
  try {
    return new URL(rawUrl);
  } catch {
    return undefined;
  }
}
