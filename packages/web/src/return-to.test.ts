import { describe, expect, it } from 'vitest';
import { loginPath, safeReturnTo } from './return-to';

describe('safeReturnTo: a return path after login is a same-origin relative path (invariant 6)', () => {
  it.each([
    ['/', '/'],
    ['/letters/0b7c1d2e', '/letters/0b7c1d2e'],
    ['/letters/abc?page=2#top', '/letters/abc?page=2#top'],
    // Dot segments that stay inside our paths are resolved, as the browser would.
    ['/letters/../settings', '/settings'],
    ['/a/./b', '/a/b'],
    ['/letters/a%2Fb', '/letters/a%2Fb'],
  ])('keeps the relative path %s', (input, expected) => {
    expect(safeReturnTo(input)).toBe(expected);
  });

  it.each([
    ['missing', null],
    ['empty', ''],
    ['protocol-relative', '//evil.example/path'],
    ['slash-backslash', '/\\evil.example'],
    ['backslash later on', '/letters\\..\\evil'],
    ['absolute https URL', 'https://evil.example/'],
    ['javascript: URL', 'javascript:alert(1)'],
    ['data: URL', 'data:text/html,<script>alert(1)</script>'],
    ['relative without a slash', 'letters/1'],
    ['tab that browsers strip', '/\t/evil.example'],
    ['newline that browsers strip', '/\n/evil.example'],
    ['leading space', ' /letters'],
    ['the login page itself', '/login?returnTo=%2F'],
    ['overlong', `/${'a'.repeat(3000)}`],
    // Dot segments resolve to a protocol-relative //evil.example.
    ['dot then slash', '/.//evil.example'],
    ['dot-dot then slash', '/..//evil.example'],
    ['encoded dot then slash', '/%2e//evil.example'],
    ['encoded dot-dot then slash', '/%2e%2e//evil.example'],
    ['upper-case encoded dot', '/%2E//evil.example'],
    ['segment then dot-dot', '/a/..//evil.example'],
    ['deeper dot-dot', '/a/b/../..//evil.example'],
    ['dot-dot beyond the root', '/../../..//evil.example'],
    ['dot then backslash', '/./\\evil.example'],
    ['dot-dot then backslash', '/a/../\\evil.example'],
    ['dot segment with tab', '/.\t//evil.example'],
    ['dot segment with newline', '/a/..\n//evil.example'],
    // Encoded slashes and backslashes: harmless to the URL parser, but a router or server that
    // decodes them would see //evil.example or /\evil.example.
    ['encoded slashes', '/%2F%2Fevil.example'],
    ['encoded slash after a slash', '/%2fevil.example'],
    ['dot then encoded slash', '/.%2F/evil.example'],
    ['encoded backslash', '/%5Cevil.example'],
    ['encoded tab', '/%09/evil.example'],
    ['broken percent-encoding', '/%zz'],
  ])('refuses %s', (_name, input) => {
    expect(safeReturnTo(input)).toBe('/');
  });

  it('never returns anything a browser would resolve to another origin', () => {
    const origin = 'https://kuvert.example';
    const tricky = [
      '/.//evil.example',
      '/..//evil.example',
      '/%2e//evil.example',
      '/a/..//evil.example',
      '/\\evil.example',
      '/%2f/evil.example',
      '/\t/evil.example',
      '/\n/evil.example',
    ];
    for (const input of tricky) {
      const result = safeReturnTo(input);
      expect(new URL(result, origin).origin, input).toBe(origin);
      expect(result, input).not.toMatch(/^\/[/\\]/);
    }
  });
});

describe('loginPath', () => {
  it('carries the current path as returnTo', () => {
    expect(loginPath('/letters/42?x=1')).toBe('/login?returnTo=%2Fletters%2F42%3Fx%3D1');
  });

  it('never carries an unsafe path', () => {
    expect(loginPath('//evil.example')).toBe('/login?returnTo=%2F');
  });
});
