import { describe, expect, it } from 'vitest';
import { loginPath, safeReturnTo } from './return-to';

describe('safeReturnTo: a return path after login is a same-origin relative path (invariant 6)', () => {
  it.each([
    ['/', '/'],
    ['/letters/0b7c1d2e', '/letters/0b7c1d2e'],
    ['/letters/abc?page=2#top', '/letters/abc?page=2#top'],
    ['/%2F%2Fevil.example', '/%2F%2Fevil.example'],
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
  ])('refuses %s', (_name, input) => {
    expect(safeReturnTo(input)).toBe('/');
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
