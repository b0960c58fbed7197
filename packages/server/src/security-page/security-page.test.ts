import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startTestKuvert, type TestKuvert, testPublicUrl } from '../../test/support/app.js';
import { errorCodes } from '../errors.js';
import { renderSecurityTxt } from './security-txt.js';

let kuvert: TestKuvert;

beforeAll(async () => {
  kuvert = await startTestKuvert({ KUVERT_SECURITY_CONTACT: 'mailto:security@kuvert.test' });
});
afterAll(() => kuvert?.close());

const day = 24 * 3600 * 1000;

/** The fields of a security.txt body as [name, value] pairs, in order (RFC 9116 §2.2, §4). */
function fieldsOf(body: string): Array<[string, string]> {
  return body
    .split(/\r?\n/)
    .filter((line) => line !== '' && !line.startsWith('#'))
    .map((line) => {
      const match = /^([A-Za-z0-9-]+): (\S.*)$/.exec(line);
      if (!match) throw new Error(`not a "Field: value" line: ${JSON.stringify(line)}`);
      return [match[1]!, match[2]!];
    });
}

async function fetchSecurityTxt() {
  return kuvert.app.inject({ method: 'GET', url: '/.well-known/security.txt' });
}

describe('RFC 9116 security.txt at /.well-known/security.txt', () => {
  it('is served as text/plain; charset=utf-8 (§3)', async () => {
    const response = await fetchSecurityTxt();
    expect(response.statusCode).toBe(200);
    expect(response.headers['content-type']).toBe('text/plain; charset=utf-8');
  });

  it('every line is a "Field: value" line, a comment or empty (§2.2, §4)', async () => {
    const response = await fetchSecurityTxt();
    for (const line of response.body.split('\n')) {
      if (line === '' || line.startsWith('#')) continue;
      expect(line).toMatch(/^[A-Za-z0-9-]+: \S.*$/);
    }
    expect(response.body.endsWith('\n')).toBe(true);
  });

  it('has a Contact field with the configured URI (§2.5.3)', async () => {
    const fields = fieldsOf((await fetchSecurityTxt()).body);
    const contacts = fields.filter(([name]) => name === 'Contact').map(([, value]) => value);
    expect(contacts).toEqual(['mailto:security@kuvert.test']);
    // §2.5.3: a URI; a web URI must be https.
    for (const contact of contacts) {
      const uri = new URL(contact);
      expect(['mailto:', 'tel:', 'https:']).toContain(uri.protocol);
    }
  });

  it('has exactly one Expires field, in the future and less than a year ahead (§2.5.5)', async () => {
    const fields = fieldsOf((await fetchSecurityTxt()).body);
    const expires = fields.filter(([name]) => name === 'Expires').map(([, value]) => value);
    expect(expires).toHaveLength(1);
    const at = Date.parse(expires[0]!);
    expect(at).toBeGreaterThan(Date.now());
    expect(at).toBeLessThan(Date.now() + 365 * day);
  });

  it('Expires is an ISO 8601 / RFC 3339 date-time (§2.5.5)', async () => {
    const fields = fieldsOf((await fetchSecurityTxt()).body);
    const expires = fields.find(([name]) => name === 'Expires')?.[1];
    expect(expires).toMatch(/^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}(\.\d+)?(Z|[+-]\d{2}:\d{2})$/);
    expect(new Date(expires!).toISOString().replace('.000Z', 'Z')).toBe(expires);
  });

  it('Preferred-Languages lists nb, nn and en (§2.5.8)', async () => {
    const fields = fieldsOf((await fetchSecurityTxt()).body);
    const languages = fields.filter(([name]) => name === 'Preferred-Languages');
    expect(languages).toHaveLength(1);
    expect(languages[0]![1].split(',').map((tag) => tag.trim())).toEqual(['nb', 'nn', 'en']);
  });

  it('Canonical is the https URI of this very file at the public origin (§2.5.2)', async () => {
    const fields = fieldsOf((await fetchSecurityTxt()).body);
    const canonical = fields.filter(([name]) => name === 'Canonical').map(([, value]) => value);
    expect(canonical).toEqual([`${testPublicUrl}/.well-known/security.txt`]);
    expect(canonical[0]!.startsWith('https://')).toBe(true);
  });

  it('uses only fields RFC 9116 §2.5 defines', async () => {
    const known = [
      'Acknowledgments',
      'Canonical',
      'Contact',
      'Encryption',
      'Expires',
      'Hiring',
      'Policy',
      'Preferred-Languages',
    ];
    for (const [name] of fieldsOf((await fetchSecurityTxt()).body)) expect(known).toContain(name);
  });

  it('renderSecurityTxt keeps Expires within a year for any moment (§2.5.5)', () => {
    for (const now of [new Date('2026-01-01T00:00:00Z'), new Date('2028-02-29T23:59:59.999Z')]) {
      const fields = fieldsOf(
        renderSecurityTxt({
          publicUrl: 'https://kuvert.example',
          contact: 'mailto:a@b.example',
          now,
        }),
      );
      const at = Date.parse(fields.find(([name]) => name === 'Expires')![1]);
      expect(at).toBeGreaterThan(now.getTime());
      expect(at).toBeLessThan(now.getTime() + 365 * day);
    }
  });
});

describe('RFC 9457 §3.1.1 problem type URIs at /problems/<code>', () => {
  it('describes every known code with its status and title', async () => {
    for (const [code, entry] of Object.entries(errorCodes)) {
      const response = await kuvert.app.inject({ method: 'GET', url: `/problems/${code}` });
      expect(response.statusCode, code).toBe(200);
      expect(response.json()).toEqual({
        code,
        status: entry.status,
        title: entry.title,
        description: entry.help,
      });
    }
  });

  it('the type URI of a problem response resolves to its description', async () => {
    const problem = (await kuvert.app.inject({ method: 'GET', url: '/api/no-such-thing' })).json();
    expect(problem.type).toBe(`${testPublicUrl}/problems/not_found`);
    const described = await kuvert.app.inject({
      method: 'GET',
      url: new URL(problem.type).pathname,
    });
    expect(described.statusCode).toBe(200);
    expect(described.json().code).toBe('not_found');
  });

  it.each(['no_such_code', 'toString', '__proto__', 'constructor', 'hasOwnProperty'])(
    'answers 404 not_found problem for the unknown code %j',
    async (code) => {
      const response = await kuvert.app.inject({ method: 'GET', url: `/problems/${code}` });
      expect(response.statusCode).toBe(404);
      expect(response.headers['content-type']).toContain('application/problem+json');
      expect(response.json().code).toBe('not_found');
    },
  );
});
