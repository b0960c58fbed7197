import { readFileSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import {
  checkContentDigest,
  createContentDigest,
  parseContentDigest,
  startContentDigestCheck,
  verifyContentDigest,
} from './content-digest.js';

const { contentDigests } = JSON.parse(
  readFileSync(new URL('../test-vectors/rfc9421.json', import.meta.url), 'utf8'),
) as { contentDigests: { body: string; 'sha-256': string; 'sha-512': string }[] };

describe('RFC 9530 Content-Digest', () => {
  it('has sample values to test against', () => {
    expect(contentDigests.length).toBeGreaterThan(0);
  });

  it.each(contentDigests)(
    'creates the sample sha-256 and sha-512 values (§2, Appendix D)',
    (sample) => {
      const body = Buffer.from(sample.body);
      expect(createContentDigest(body, 'sha-256')).toBe(sample['sha-256']);
      expect(createContentDigest(body, 'sha-512')).toBe(sample['sha-512']);
      expect(createContentDigest(body)).toBe(sample['sha-512']); // sha-512 is the default
    },
  );

  it.each(contentDigests)('verifies the sample values, alone and together', (sample) => {
    const body = Buffer.from(sample.body);
    expect(verifyContentDigest(sample['sha-256'], body)).toBe(true);
    expect(verifyContentDigest(sample['sha-512'], body)).toBe(true);
    expect(verifyContentDigest(`${sample['sha-256']}, ${sample['sha-512']}`, body)).toBe(true);
  });

  it.each(contentDigests)('checks content that arrives in pieces, one byte at a time', (sample) => {
    const verifier = startContentDigestCheck(`${sample['sha-256']}, ${sample['sha-512']}`);
    if ('ok' in verifier) throw new Error(`refused before the content: ${verifier.detail}`);
    for (const byte of Buffer.from(sample.body)) verifier.update(Uint8Array.of(byte));
    expect(verifier.finish()).toEqual({ ok: true });

    const tampered = startContentDigestCheck(sample['sha-256']);
    if ('ok' in tampered) throw new Error('refused before the content');
    tampered.update(Buffer.from(sample.body));
    tampered.update(Buffer.from(' '));
    expect(tampered.finish()).toMatchObject({ ok: false, reason: 'mismatch' });
  });

  it('refuses a malformed field or one without a supported algorithm before any content', () => {
    expect(startContentDigestCheck('sha-256=not-bytes')).toMatchObject({
      ok: false,
      reason: 'malformed',
    });
    expect(startContentDigestCheck('md5=:HUXZLQLMuI/KZ5KDcJPcOA==:')).toMatchObject({
      ok: false,
      reason: 'no-supported-algorithm',
    });
  });

  it('rejects a digest of other content', () => {
    const header = createContentDigest(Buffer.from('{"hello": "world"}'));
    expect(checkContentDigest(header, Buffer.from('{"hello": "World"}'))).toMatchObject({
      ok: false,
      reason: 'mismatch',
    });
  });

  it('requires every supported digest to match, not just one', () => {
    const body = Buffer.from('letter');
    const good = createContentDigest(body, 'sha-256');
    const forged = createContentDigest(Buffer.from('other'), 'sha-512');
    expect(verifyContentDigest(`${good}, ${forged}`, body)).toBe(false);
  });

  it('ignores unknown algorithms but requires at least one supported (§5: md5 and sha are deprecated)', () => {
    const body = Buffer.from('letter');
    const md5Only = 'md5=:HUXZLQLMuI/KZ5KDcJPcOA==:';
    expect(checkContentDigest(md5Only, body)).toMatchObject({
      ok: false,
      reason: 'no-supported-algorithm',
    });
    expect(verifyContentDigest(`${md5Only}, ${createContentDigest(body)}`, body)).toBe(true);
  });

  it.each([
    ['not a dictionary', 'sha-256'],
    ['a token instead of a byte sequence', 'sha-256=abc'],
    [
      'a string instead of a byte sequence',
      'sha-256="X48E9qOokqqrvdts8nOJRJN3OWDUoyWxBf7kbu9DBPE="',
    ],
    ['an inner list', 'sha-256=(:AAAA:)'],
    ['characters outside base64', 'sha-256=:X48E9qOokqqr!dts8nOJRJN3OWDUoyWxBf7kbu9DBPE=:'],
    ['an unterminated byte sequence', 'sha-256=:X48E9qOokqqrvdts8nOJRJN3OWDUoyWxBf7kbu9DBPE='],
    ['a trailing comma', 'sha-256=:X48E9qOokqqrvdts8nOJRJN3OWDUoyWxBf7kbu9DBPE=:,'],
    ['an upper-case key', 'SHA-256=:X48E9qOokqqrvdts8nOJRJN3OWDUoyWxBf7kbu9DBPE=:'],
    ['empty', ''],
  ])('reports a malformed field: %s', (_case, header) => {
    const result = checkContentDigest(header, Buffer.from('{"hello": "world"}'));
    expect(result.ok).toBe(false);
    expect(result).toMatchObject({
      reason: header === '' ? 'no-supported-algorithm' : 'malformed',
    });
  });

  it('parses a dictionary of byte sequences, keeping unknown algorithms for the caller', () => {
    const parsed = parseContentDigest('sha-256=:AQID:, unixsum=:BA==:');
    expect([...parsed.keys()]).toEqual(['sha-256', 'unixsum']);
    expect([...parsed.get('sha-256')!]).toEqual([1, 2, 3]);
  });

  it('a truncated digest does not match (lengths are compared before bytes)', () => {
    const body = Buffer.from('letter');
    const full = parseContentDigest(createContentDigest(body, 'sha-256')).get('sha-256')!;
    const truncated = `sha-256=:${full.subarray(0, 16).toString('base64')}:`;
    expect(verifyContentDigest(truncated, body)).toBe(false);
  });
});
