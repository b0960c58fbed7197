import { describe, expect, it } from 'vitest';
import {
  buildSignatureBase,
  componentValue,
  type MessageDescription,
  SignatureBaseError,
  serializeSignatureParams,
} from './signature-base.js';

const request: MessageDescription = {
  method: 'POST',
  targetUri: 'https://Kuvert.Example:443/api/v1/letters?b=2&a=1',
  headers: {
    Date: 'Tue, 20 Apr 2021 02:07:55 GMT',
    'X-Ows': '   padded value\t',
    'Cache-Control': ['max-age=60', '   must-revalidate'],
    'x-empty': '',
  },
};

describe('RFC 9421 §2.2 derived components', () => {
  it.each([
    ['@method', 'POST'],
    ['@authority', 'kuvert.example'], // §2.2.3: lower-cased, default port dropped
    ['@scheme', 'https'],
    ['@path', '/api/v1/letters'],
    ['@query', '?b=2&a=1'], // §2.2.7: as sent, not re-ordered or decoded
    ['@target-uri', 'https://kuvert.example/api/v1/letters?b=2&a=1'],
  ])('%s of the target URI is %s', (name, expected) => {
    expect(componentValue(request, name)).toBe(expected);
  });

  it('@query of a URI without a query is "?" alone (§2.2.7)', () => {
    expect(componentValue({ targetUri: 'https://k.example/x', headers: {} }, '@query')).toBe('?');
    expect(componentValue({ query: '', headers: {} }, '@query')).toBe('?');
  });

  it('@path of an empty path is "/" (§2.2.6)', () => {
    expect(componentValue({ path: '', headers: {} }, '@path')).toBe('/');
  });

  it('@path keeps percent-encoding as sent (§2.2.6)', () => {
    expect(componentValue({ targetUri: 'https://k.example/a%2Fb', headers: {} }, '@path')).toBe(
      '/a%2Fb',
    );
  });

  it("explicit authority, path and query (a verifier's view) take precedence over targetUri", () => {
    const message = {
      targetUri: 'https://other.example/x',
      authority: 'K.example:8080',
      path: '/y',
      query: '?q',
      headers: {},
    };
    expect(componentValue(message, '@authority')).toBe('k.example:8080');
    expect(componentValue(message, '@path')).toBe('/y');
    expect(componentValue(message, '@query')).toBe('?q');
  });

  it('@status is for responses only (§2.2.9)', () => {
    expect(() => componentValue(request, '@status')).toThrow(SignatureBaseError);
    expect(componentValue({ status: 200, headers: {} }, '@status')).toBe('200');
  });

  it.each(['@request-target', '@query-param', '@unknown'])(
    'refuses the unsupported derived component %s',
    (name) => {
      expect(() => buildSignatureBase(request, { components: [name], params: {} })).toThrow(
        SignatureBaseError,
      );
    },
  );
});

describe('RFC 9421 §2.1 HTTP fields', () => {
  it('finds fields case-insensitively and trims leading and trailing whitespace', () => {
    expect(componentValue(request, 'date')).toBe('Tue, 20 Apr 2021 02:07:55 GMT');
    expect(componentValue(request, 'x-ows')).toBe('padded value');
  });

  it('combines several field lines with ", " in order', () => {
    expect(componentValue(request, 'cache-control')).toBe('max-age=60, must-revalidate');
  });

  it('combines the same field given under two spellings of its name', () => {
    const message = { headers: { 'X-A': 'one', 'x-a': 'two' } };
    expect(componentValue(message, 'x-a')).toBe('one, two');
  });

  it('replaces obsolete line folding with one space', () => {
    expect(
      componentValue({ headers: { 'x-fold': 'Obsolete\r\n    line folding.' } }, 'x-fold'),
    ).toBe('Obsolete line folding.');
  });

  it('signs an empty field as an empty value', () => {
    const base = buildSignatureBase(request, { components: ['x-empty'], params: {} });
    expect(base.split('\n')[0]).toBe('"x-empty": ');
  });

  it('refuses a missing field (§2.5: "If the field cannot be found … produce an error")', () => {
    expect(() =>
      buildSignatureBase(request, { components: ['content-digest'], params: {} }),
    ).toThrow(/content-digest is missing/);
  });

  it('refuses a value with a bare newline, which would forge a line of the base', () => {
    const message = { headers: { 'x-evil': 'a\n"@method": GET' } };
    expect(() => componentValue(message, 'x-evil')).toThrow(/newline/);
  });

  it('refuses upper-case component names (§2.1: MUST use lower-cased names)', () => {
    expect(() => buildSignatureBase(request, { components: ['Date'], params: {} })).toThrow(
      SignatureBaseError,
    );
  });
});

describe('RFC 9421 §2.3 and §2.5 signature base', () => {
  it('builds the lines in the order of the covered components, ending with @signature-params', () => {
    const base = buildSignatureBase(request, {
      components: ['date', '@method', '@path'],
      params: { created: 1618884473, keyid: 'k', alg: 'ed25519' },
    });
    expect(base).toBe(
      [
        '"date": Tue, 20 Apr 2021 02:07:55 GMT',
        '"@method": POST',
        '"@path": /api/v1/letters',
        '"@signature-params": ("date" "@method" "@path");created=1618884473;keyid="k";alg="ed25519"',
      ].join('\n'),
    );
  });

  it('serialises the parameters in the order given', () => {
    expect(
      serializeSignatureParams({
        components: ['@method'],
        params: { keyid: 'k', nonce: 'n', created: 2, expires: 3, tag: 't', alg: 'ed25519' },
      }),
    ).toBe('("@method");keyid="k";nonce="n";created=2;expires=3;tag="t";alg="ed25519"');
  });

  it('refuses a component listed twice (§2)', () => {
    expect(() => buildSignatureBase(request, { components: ['date', 'date'], params: {} })).toThrow(
      /twice/,
    );
  });

  it('refuses @signature-params as a covered component (§2.3)', () => {
    expect(() =>
      buildSignatureBase(request, { components: ['@signature-params'], params: {} }),
    ).toThrow(SignatureBaseError);
  });

  it('refuses a non-integer created (§2.3: an Integer UNIX timestamp)', () => {
    expect(() => serializeSignatureParams({ components: [], params: { created: 1.5 } })).toThrow(
      /integer/,
    );
  });
});
