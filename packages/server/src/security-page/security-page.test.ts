import { readCleartextMessage, readKey, verify } from 'openpgp';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startTestKuvert, type TestKuvert, testPublicUrl } from '../../test/support/app.js';
import { errorCodes } from '../errors.js';
import { contentSecurityPolicy } from '../http/security-headers.js';
import { addHallOfFameEntry } from './hall-of-fame.js';
import { renderSecurityTxt, signedSecurityTxt } from './security-txt.js';

let kuvert: TestKuvert;

const channels = [
  { name: 'Kuvert på Mastodon', url: 'https://social.example/@kuvert' },
  { name: 'Kuvert <status>', url: 'https://status.kuvert.example/' },
];

beforeAll(async () => {
  kuvert = await startTestKuvert({
    KUVERT_SECURITY_CONTACT: 'mailto:security@kuvert.test',
    KUVERT_SECURITY_CHANNELS: JSON.stringify(channels),
  });
});
afterAll(() => kuvert?.close());

const day = 24 * 3600 * 1000;

// ---------------------------------------------------------------------------------------
// An RFC 9116 parser written for this test from the RFC's ABNF (§4) and the cleartext
// signature framework it refers to (§2.3; RFC 9580 §7). No npm package parses security.txt
// (only generators exist), so the test holds its own, independent of the code that writes it.

/** RFC 9116 §4 `uri` (RFC 3986 §3): a scheme, a colon, and URI characters only. */
const uriPattern = /^[A-Za-z][A-Za-z0-9+.-]*:[A-Za-z0-9\-._~:/?#[\]@!$&'()*+,;=%]+$/;
/** RFC 3339 §5.6 date-time. */
const dateTimePattern =
  /^\d{4}-(0[1-9]|1[0-2])-(0[1-9]|[12]\d|3[01])[Tt]([01]\d|2[0-3]):[0-5]\d:([0-5]\d|60)(\.\d+)?([Zz]|[+-]([01]\d|2[0-3]):[0-5]\d)$/;
/** RFC 5646 §2.1 Language-Tag, the langtag production (enough for the tags a file may name). */
const languageTagPattern =
  /^[A-Za-z]{2,3}(-[A-Za-z]{3}){0,3}(-[A-Za-z]{4})?(-([A-Za-z]{2}|\d{3}))?(-([A-Za-z\d]{5,8}|\d[A-Za-z\d]{3}))*$/;
/** RFC 5322 §3.6.8 field-name: printable ASCII except the colon. */
const fieldNamePattern = /^[!-9;-~]+$/;
/** RFC 9116 §4 `eol = *WSP [CR] LF`. */
const eol = /[ \t]*\r?\n/;

interface ParsedSecurityTxt {
  signed: { hashHeaders: string[]; signature: string } | undefined;
  fields: Array<{ name: string; value: string }>;
}

/** `body = signed / unsigned` (RFC 9116 §4). Throws on any line the grammar does not allow. */
function parseSecurityTxt(body: string): ParsedSecurityTxt {
  if (body.startsWith('-----BEGIN PGP SIGNED MESSAGE-----')) return parseSigned(body);
  return { signed: undefined, fields: parseUnsigned(body) };
}

/** RFC 9580 §7: header line, armor headers, an empty line, dash-escaped text, the signature. */
function parseSigned(body: string): ParsedSecurityTxt {
  const lines = body.split(/\r?\n/);
  expect(lines.shift()).toBe('-----BEGIN PGP SIGNED MESSAGE-----');
  const hashHeaders: string[] = [];
  while (lines[0] !== '') {
    const header = lines.shift();
    if (header === undefined || !/^Hash: [A-Z0-9]+(,[A-Z0-9]+)*$/.test(header)) {
      throw new Error(`not a cleartext armor header: ${JSON.stringify(header)}`);
    }
    hashHeaders.push(header);
  }
  lines.shift();
  const end = lines.indexOf('-----BEGIN PGP SIGNATURE-----');
  if (end === -1) throw new Error('no signature block');
  const text = lines
    .slice(0, end)
    .map((line) => {
      // Dash-escaped text (RFC 9580 §7.2): a line starting with "-" is prefixed by "- ".
      if (line.startsWith('- ')) return line.slice(2);
      if (line.startsWith('-')) throw new Error(`unescaped dash line ${JSON.stringify(line)}`);
      return line;
    })
    .join('\n');
  const signature = lines.slice(end).join('\n');
  expect(signature).toMatch(/-----END PGP SIGNATURE-----\s*$/);
  // The signed text is the cleartext with its final line break (§7.1 drops it when signing).
  return { signed: { hashHeaders, signature }, fields: parseUnsigned(`${text}\n`) };
}

/** `unsigned = *line (contact-field eol) … ` with `line = [ (field / comment) ] eol`. */
function parseUnsigned(text: string): Array<{ name: string; value: string }> {
  const fields: Array<{ name: string; value: string }> = [];
  const lines = text.split(eol);
  // The last element follows the final eol: it must be empty (every line ends with eol).
  expect(lines.pop()).toBe('');
  for (const line of lines) {
    if (line === '') continue;
    // comment = "#" *(WSP / VCHAR / %x80-FFFFF)
    if (line.startsWith('#')) {
      if (!/^#[\t !-~\u0080-\u{FFFFF}]*$/u.test(line)) throw new Error(`bad comment ${line}`);
      continue;
    }
    // field = field-name fs SP value
    const match = /^([^:]+): (.*)$/.exec(line);
    if (!match || !fieldNamePattern.test(match[1]!)) {
      throw new Error(`not a field line: ${JSON.stringify(line)}`);
    }
    const [, name, value] = match as unknown as [string, string, string];
    checkFieldValue(name, value);
    fields.push({ name, value });
  }
  return fields;
}

function checkFieldValue(name: string, value: string): void {
  switch (name.toLowerCase()) {
    case 'acknowledgments':
    case 'canonical':
    case 'contact':
    case 'encryption':
    case 'hiring':
    case 'policy':
      if (!uriPattern.test(value)) throw new Error(`${name}: not a URI: ${value}`);
      return;
    case 'expires':
      if (!dateTimePattern.test(value)) throw new Error(`Expires: not a date-time: ${value}`);
      return;
    case 'preferred-languages':
      // lang-values = lang-tag *(*WSP "," *WSP lang-tag)
      for (const tag of value.split(/[ \t]*,[ \t]*/)) {
        if (!languageTagPattern.test(tag)) throw new Error(`not a language tag: ${tag}`);
      }
      return;
    default:
      // ext-field: field-name fs SP unstructured (RFC 5322 §3.2.5: VCHAR and WSP).
      if (!/^[\t !-~]*$/.test(value)) throw new Error(`${name}: not unstructured text`);
  }
}

const valuesOf = (parsed: ParsedSecurityTxt, name: string) =>
  parsed.fields.filter((field) => field.name === name).map((field) => field.value);

async function fetchSecurityTxt() {
  return kuvert.app.inject({ method: 'GET', url: '/.well-known/security.txt' });
}

async function publishedKey() {
  const response = await kuvert.app.inject({ method: 'GET', url: '/security/pgp-key.asc' });
  return readKey({ armoredKey: response.body });
}

describe('RFC 9116 security.txt at /.well-known/security.txt', () => {
  it('is served as text/plain; charset=utf-8 (§3)', async () => {
    const response = await fetchSecurityTxt();
    expect(response.statusCode).toBe(200);
    expect(response.headers['content-type']).toBe('text/plain; charset=utf-8');
  });

  it('is a cleartext-signed message that the RFC 9116 grammar accepts (§2.3, §4)', async () => {
    const parsed = parseSecurityTxt((await fetchSecurityTxt()).body);
    expect(parsed.signed).toBeDefined();
    expect(parsed.fields.length).toBeGreaterThanOrEqual(7);
  });

  it('its signature verifies with openpgp against the key named in Encryption (§2.3, §2.5.4)', async () => {
    const body = (await fetchSecurityTxt()).body;
    const [encryption] = valuesOf(parseSecurityTxt(body), 'Encryption');
    expect(encryption).toBe(`${testPublicUrl}/security/pgp-key.asc`);
    const keyResponse = await kuvert.app.inject({
      method: 'GET',
      url: new URL(encryption!).pathname,
    });
    expect(keyResponse.statusCode).toBe(200);
    expect(keyResponse.headers['content-type']).toBe('application/pgp-keys');
    const key = await readKey({ armoredKey: keyResponse.body });
    const result = await verify({
      message: await readCleartextMessage({ cleartextMessage: body }),
      verificationKeys: key,
      expectSigned: true,
    });
    expect(result.signatures).toHaveLength(1);
    await expect(result.signatures[0]!.verified).resolves.toBe(true);
    expect(result.data).toContain('Contact: mailto:security@kuvert.test');
  });

  it('a tampered body fails verification', async () => {
    const body = (await fetchSecurityTxt()).body.replace(
      'mailto:security@kuvert.test',
      'mailto:attacker@evil.test',
    );
    await expect(
      verify({
        message: await readCleartextMessage({ cleartextMessage: body }),
        verificationKeys: await publishedKey(),
        expectSigned: true,
      }),
    ).rejects.toThrow();
  });

  it('Contact: the configured address first, then the report form, https (§2.5.3)', async () => {
    const parsed = parseSecurityTxt((await fetchSecurityTxt()).body);
    expect(valuesOf(parsed, 'Contact')).toEqual([
      'mailto:security@kuvert.test',
      `${testPublicUrl}/security#report`,
    ]);
  });

  it('exactly one Expires, in the future and less than a year ahead (§2.5.5)', async () => {
    const expires = valuesOf(parseSecurityTxt((await fetchSecurityTxt()).body), 'Expires');
    expect(expires).toHaveLength(1);
    const at = Date.parse(expires[0]!);
    expect(at).toBeGreaterThan(Date.now());
    expect(at).toBeLessThan(Date.now() + 365 * day);
  });

  it('names Acknowledgments, Policy, Preferred-Languages and Canonical (§2.5.1, §2.5.7, §2.5.8, §2.5.2)', async () => {
    const parsed = parseSecurityTxt((await fetchSecurityTxt()).body);
    expect(valuesOf(parsed, 'Acknowledgments')).toEqual([`${testPublicUrl}/security#hall-of-fame`]);
    expect(valuesOf(parsed, 'Policy')).toEqual([`${testPublicUrl}/security#policy`]);
    expect(valuesOf(parsed, 'Preferred-Languages')).toEqual(['nb, nn, en']);
    expect(valuesOf(parsed, 'Canonical')).toEqual([`${testPublicUrl}/.well-known/security.txt`]);
  });

  it('the URLs it names answer, and the fragments exist on the page', async () => {
    const parsed = parseSecurityTxt((await fetchSecurityTxt()).body);
    const page = (await kuvert.app.inject({ method: 'GET', url: '/security' })).body;
    for (const name of ['Acknowledgments', 'Policy', 'Contact']) {
      for (const value of valuesOf(parsed, name)) {
        if (!value.startsWith('https://')) continue;
        const url = new URL(value);
        expect(url.origin).toBe(testPublicUrl);
        expect((await kuvert.app.inject({ method: 'GET', url: url.pathname })).statusCode).toBe(
          200,
        );
        expect(page).toContain(`id="${url.hash.slice(1)}"`);
      }
    }
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
    for (const { name } of parseSecurityTxt((await fetchSecurityTxt()).body).fields) {
      expect(known).toContain(name);
    }
  });

  it('is signed once a day: the same body all day, a new Expires and signature the next', async () => {
    const sign = signedSecurityTxt({
      publicUrl: testPublicUrl,
      contact: 'mailto:a@b.example',
      signingKey: kuvert.context.serviceKey.privateKey,
    });
    const morning = await sign(new Date('2027-03-01T06:00:00Z'));
    const evening = await sign(new Date('2027-03-01T23:59:00Z'));
    const nextDay = await sign(new Date('2027-03-02T00:01:00Z'));
    expect(evening).toBe(morning);
    expect(nextDay).not.toBe(morning);
    expect(valuesOf(parseSecurityTxt(morning), 'Expires')).toEqual(['2027-08-28T00:00:00Z']);
    expect(valuesOf(parseSecurityTxt(nextDay), 'Expires')).toEqual(['2027-08-29T00:00:00Z']);
  });

  it('renderSecurityTxt keeps Expires within a year for any moment (§2.5.5)', () => {
    for (const now of [new Date('2026-01-01T00:00:00Z'), new Date('2028-02-29T23:59:59.999Z')]) {
      const parsed = parseSecurityTxt(
        renderSecurityTxt({
          publicUrl: 'https://kuvert.example',
          contact: 'mailto:a@b.example',
          now,
        }),
      );
      const at = Date.parse(valuesOf(parsed, 'Expires')[0]!);
      expect(at).toBeGreaterThan(now.getTime());
      expect(at).toBeLessThan(now.getTime() + 365 * day);
    }
  });

  it('the test parser refuses what the grammar refuses', () => {
    expect(() => parseUnsigned('Contact mailto:a@b.example\n')).toThrow();
    expect(() => parseUnsigned('Contact: not a uri\n')).toThrow();
    expect(() => parseUnsigned('Expires: tomorrow\n')).toThrow();
    expect(() => parseUnsigned('Preferred-Languages: nb; en\n')).toThrow();
    expect(() => parseUnsigned('Contact: mailto:a@b.example')).toThrow();
  });
});

describe('the security page', () => {
  const pages = [
    { url: '/security', language: 'nb' },
    { url: '/nn/security', language: 'nn' },
    { url: '/en/security', language: 'en' },
  ] as const;

  it.each(pages)(
    '$url is HTML in its language, with hreflang links to all three',
    async ({ url, language }) => {
      const response = await kuvert.app.inject({ method: 'GET', url });
      expect(response.statusCode).toBe(200);
      expect(response.headers['content-type']).toBe('text/html; charset=utf-8');
      expect(response.headers['content-language']).toBe(language);
      expect(response.headers['content-security-policy']).toBe(contentSecurityPolicy);
      const body = response.body;
      expect(body).toContain(`<html lang="${language}">`);
      for (const other of pages) {
        expect(body).toContain(
          `<link rel="alternate" hreflang="${other.language}" href="${testPublicUrl}${other.url}">`,
        );
        // The language switch links every version, marking the current one.
        expect(body).toMatch(
          new RegExp(
            `<a href="${other.url}" hreflang="${other.language}" lang="${other.language}"${other.url === url ? ' aria-current="page"' : ''}>`,
          ),
        );
      }
      expect(body).toContain('<a class="skip-link" href="#main">');
      expect(body).toContain('<main id="main"');
    },
  );

  it.each(pages)(
    '$url names the public origin, the contact, the key and its fingerprint',
    async ({ url }) => {
      const body = (await kuvert.app.inject({ method: 'GET', url })).body;
      expect(body).toContain(`<strong class="origin">${testPublicUrl}</strong>`);
      expect(body).toContain('<a href="mailto:security@kuvert.test">security@kuvert.test</a>');
      expect(body).toContain('href="/security/pgp-key.asc"');
      const fingerprint = (await publishedKey()).getFingerprint().toUpperCase();
      expect(body).toContain(fingerprint.match(/.{4}/g)!.join(' '));
    },
  );

  it.each(pages)('$url lists the configured official channels, escaped', async ({ url }) => {
    const body = (await kuvert.app.inject({ method: 'GET', url })).body;
    expect(body).toContain(
      '<a href="https://social.example/@kuvert" rel="me">Kuvert på Mastodon</a>',
    );
    expect(body).toContain('Kuvert &lt;status&gt;');
    expect(body).not.toContain('Kuvert <status>');
  });

  it.each(pages)('$url has no inline script or style (the CSP forbids them)', async ({ url }) => {
    const body = (await kuvert.app.inject({ method: 'GET', url })).body;
    expect(body).not.toMatch(/<style/i);
    expect(body).not.toMatch(/\sstyle=/i);
    expect(body).not.toMatch(/\son[a-z]+=/i);
    for (const script of body.match(/<script[^>]*>/gi) ?? []) expect(script).toMatch(/src="\//);
  });

  it('without JavaScript the report form stays hidden and the page says how to email instead', async () => {
    const body = (await kuvert.app.inject({ method: 'GET', url: '/en/security' })).body;
    expect(body).toMatch(/<form id="report-form"[^>]*\shidden\s/);
    expect(body).toContain('JavaScript is turned off, encrypt your report with');
  });

  it('the hall of fame shows entries by year, newest first, with links escaped', async () => {
    const { db, keys } = kuvert.context;
    await addHallOfFameEntry({ db, keys, name: 'Ada <b>', year: 2026, actor: 'test' });
    await addHallOfFameEntry({
      db,
      keys,
      name: 'Grace',
      year: 2025,
      link: 'https://grace.example/"x',
      actor: 'test',
    });
    const body = (await kuvert.app.inject({ method: 'GET', url: '/nn/security' })).body;
    const section = body.slice(body.indexOf('id="hall-of-fame"'));
    expect(section.indexOf('<h3>2026</h3>')).toBeLessThan(section.indexOf('<h3>2025</h3>'));
    expect(section).toContain('<li>Ada &lt;b&gt;</li>');
    expect(section).toContain(
      '<a href="https://grace.example/%22x" rel="nofollow noopener">Grace</a>',
    );
  });

  it('serves its stylesheet, its script and OpenPGP.js from our origin', async () => {
    for (const [url, type] of [
      ['/security/page.css', 'text/css; charset=utf-8'],
      ['/security/report-form.js', 'text/javascript; charset=utf-8'],
      ['/security/openpgp.min.mjs', 'text/javascript; charset=utf-8'],
    ] as const) {
      const response = await kuvert.app.inject({ method: 'GET', url });
      expect(response.statusCode, url).toBe(200);
      expect(response.headers['content-type']).toBe(type);
    }
  });

  it('an unknown path under /security is a 404 problem, not the web app', async () => {
    const response = await kuvert.app.inject({ method: 'GET', url: '/security/nothing-here' });
    expect(response.statusCode).toBe(404);
    expect(response.headers['content-type']).toContain('application/problem+json');
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
