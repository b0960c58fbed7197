import { chmod, writeFile } from 'node:fs/promises';
import path from 'node:path';
import {
  createMessage,
  encrypt,
  generateKey,
  readKey,
  readMessage,
  readPrivateKey,
  sign,
} from 'openpgp';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startTestKuvert, type TestKuvert } from '../../test/support/app.js';
import { verifyAuditLog } from '../audit/verify.js';
import { loadMasterKeys } from '../documents/master-keys.js';
import { addHallOfFameEntry, removeHallOfFameEntry } from './hall-of-fame.js';
import { reportLimits } from './rate-limit.js';
import { maxReportCiphertextBytes, readReport, setReportStatus } from './reports.js';
import {
  derivedServiceKeyPassphrase,
  loadServiceKey,
  ServiceKeyError,
  serviceKeyFilePath,
} from './service-key.js';

let kuvert: TestKuvert;
let addressCounter = 0;

beforeAll(async () => {
  kuvert = await startTestKuvert({ KUVERT_SECURITY_CONTACT: 'mailto:security@kuvert.test' });
});
afterAll(() => kuvert?.close());

/** A fresh client address per test, so the per-address limit only bites where it is tested. */
const freshAddress = () => `192.0.2.${++addressCounter}`;

async function serviceKey() {
  const response = await kuvert.app.inject({ method: 'GET', url: '/security/pgp-key.asc' });
  return readKey({ armoredKey: response.body });
}

async function encryptedReport(text: string) {
  return encrypt({ message: await createMessage({ text }), encryptionKeys: await serviceKey() });
}

function postReport(body: unknown, remoteAddress = freshAddress()) {
  return kuvert.app.inject({
    method: 'POST',
    url: '/security/reports',
    remoteAddress,
    headers: { 'content-type': 'application/json' },
    payload: typeof body === 'string' ? body : JSON.stringify(body),
  });
}

async function storedReports() {
  return kuvert.context.db.selectFrom('vulnerability_reports').selectAll().execute();
}

describe('POST /security/reports', () => {
  it('stores only the ciphertext and answers with a receipt id', async () => {
    const secret = 'XSS in the inbox: <img src=x onerror=alert(1)> — reproduce with …';
    const response = await postReport({ ciphertext: await encryptedReport(secret) });
    expect(response.statusCode).toBe(201);
    const receipt = response.json();
    expect(receipt.id).toMatch(/^[0-9a-f-]{36}$/);
    expect(Date.parse(receipt.receivedAt)).not.toBeNaN();

    const row = (await storedReports()).find((report) => report.id === receipt.id)!;
    expect(Object.keys(row).sort()).toEqual(['ciphertext', 'id', 'received_at', 'status']);
    expect(row.status).toBe('new');
    expect(row.ciphertext).toMatch(/^-----BEGIN PGP MESSAGE-----/);
    expect(row.ciphertext).not.toContain('XSS');
    expect(row.ciphertext).toMatch(/-----END PGP MESSAGE-----\n$/);
    // The only way back to the text is the private key.
    const report = await readReport({
      db: kuvert.context.db,
      serviceKey: kuvert.context.serviceKey,
      id: receipt.id,
    });
    expect(report.text).toBe(secret);
  });

  it('keeps no armor headers: a Comment is cleartext', async () => {
    const armored = (await encryptedReport('with a comment')).replace(
      '-----BEGIN PGP MESSAGE-----\n',
      '-----BEGIN PGP MESSAGE-----\nComment: my name is Eve and the bug is in /login\n',
    );
    const response = await postReport({ ciphertext: armored });
    expect(response.statusCode).toBe(201);
    const row = (await storedReports()).find((report) => report.id === response.json().id)!;
    expect(row.ciphertext).not.toContain('Eve');
    const report = await readReport({
      db: kuvert.context.db,
      serviceKey: kuvert.context.serviceKey,
      id: row.id,
    });
    expect(report.text).toBe('with a comment');
  });

  describe('refuses anything that is not an armored message encrypted to our key (422)', () => {
    const refusals: Array<[string, () => Promise<unknown>]> = [
      ['plain text', async () => ({ ciphertext: 'Dear security team, here is my bug' })],
      [
        'an armored literal (unencrypted) message',
        async () => ({
          ciphertext: (await createMessage({ text: 'not encrypted' })).armor(),
        }),
      ],
      [
        'a signed but unencrypted message',
        async () => {
          const { privateKey } = await generateKey({
            type: 'ecc',
            curve: 'curve25519Legacy',
            userIDs: [{ name: 'someone' }],
            format: 'object',
          });
          return {
            ciphertext: await sign({
              message: await createMessage({ text: 'signed only' }),
              signingKeys: privateKey,
            }),
          };
        },
      ],
      [
        'a message encrypted to another key',
        async () => {
          const { publicKey } = await generateKey({
            type: 'ecc',
            curve: 'curve25519Legacy',
            userIDs: [{ name: 'not us' }],
            format: 'object',
          });
          return {
            ciphertext: await encrypt({
              message: await createMessage({ text: 'for someone else' }),
              encryptionKeys: publicKey,
            }),
          };
        },
      ],
      [
        'a message encrypted with a password only',
        async () => ({
          ciphertext: await encrypt({
            message: await createMessage({ text: 'password' }),
            passwords: 'hunter2',
          }),
        }),
      ],
      [
        'an armor with a broken body',
        async () => ({
          ciphertext: '-----BEGIN PGP MESSAGE-----\n\nAAAA\n-----END PGP MESSAGE-----\n',
        }),
      ],
      [
        'text around the armor',
        async () => ({ ciphertext: `My report:\n${await encryptedReport('x')}\nthanks` }),
      ],
      ['no ciphertext', async () => ({})],
    ];

    it.each(refusals)('%s', async (_name, makeBody) => {
      const before = (await storedReports()).length;
      const response = await postReport(await makeBody());
      expect(response.statusCode).toBe(422);
      expect(response.headers['content-type']).toContain('application/problem+json');
      expect(response.json()).toMatchObject({ code: 'validation_failed', status: 422 });
      expect((await storedReports()).length).toBe(before);
    });
  });

  it('refuses a body over the size limit unread (413)', async () => {
    const response = await postReport({ ciphertext: 'A'.repeat(maxReportCiphertextBytes + 2048) });
    expect(response.statusCode).toBe(413);
    expect(response.json().code).toBe('payload_too_large');
  });

  it('refuses anything but JSON (415)', async () => {
    const response = await kuvert.app.inject({
      method: 'POST',
      url: '/security/reports',
      remoteAddress: freshAddress(),
      headers: { 'content-type': 'text/plain' },
      payload: await encryptedReport('x'),
    });
    expect(response.statusCode).toBe(415);
    expect(response.json().code).toBe('unsupported_media_type');
  });

  it(`limits reports per address: ${reportLimits.perIp} an hour, then 429 with Retry-After`, async () => {
    const address = freshAddress();
    // Refused attempts count as well: the limit is on attempts, not on successes.
    for (let attempt = 0; attempt < reportLimits.perIp; attempt++) {
      expect((await postReport({ ciphertext: 'not a message' }, address)).statusCode).toBe(422);
    }
    const limited = await postReport({ ciphertext: await encryptedReport('x') }, address);
    expect(limited.statusCode).toBe(429);
    expect(limited.json()).toMatchObject({ code: 'rate_limited', status: 429 });
    expect(Number(limited.headers['retry-after'])).toBeGreaterThan(0);
    // Another address is not affected.
    expect((await postReport({ ciphertext: await encryptedReport('x') })).statusCode).toBe(201);
  });

  it('IPv6 addresses of one /64 share a limit', async () => {
    for (let attempt = 0; attempt < reportLimits.perIp; attempt++) {
      await postReport({ ciphertext: 'nope' }, `2001:db8:1:2::${attempt + 1}`);
    }
    const limited = await postReport({ ciphertext: 'nope' }, '2001:db8:1:2::ffff');
    expect(limited.statusCode).toBe(429);
  });
});

describe('report status and the hall of fame are audited', () => {
  it('a status change is stored and audited; an unknown status or id is refused', async () => {
    const receipt = (await postReport({ ciphertext: await encryptedReport('status') })).json();
    const { db } = kuvert.context;
    await expect(
      setReportStatus({
        db,
        keys: kuvert.context.keys,
        id: receipt.id,
        status: 'triaged',
        actor: 'admin:test',
      }),
    ).resolves.toEqual({ from: 'new', to: 'triaged' });
    await expect(
      setReportStatus({
        db,
        keys: kuvert.context.keys,
        id: receipt.id,
        status: 'done' as 'fixed',
        actor: 'admin:test',
      }),
    ).rejects.toMatchObject({ code: 'validation_failed' });
    await expect(
      setReportStatus({
        db,
        keys: kuvert.context.keys,
        id: '00000000-0000-4000-8000-000000000000',
        status: 'fixed',
        actor: 'admin:test',
      }),
    ).rejects.toMatchObject({ code: 'not_found' });
    const entries = await db.selectFrom('audit_log').selectAll().execute();
    const entry = entries.find(
      (candidate) =>
        candidate.action === 'vulnerability_report.status_changed' &&
        candidate.subject === receipt.id,
    );
    expect(entry?.details).toEqual({ from: 'new', to: 'triaged' });
    expect(
      (await verifyAuditLog({ db, keys: kuvert.context.keys, blobs: kuvert.context.blobs }))
        .problems,
    ).toEqual([]);
  });

  it('adding and removing a hall-of-fame entry is audited; bad links and names are refused', async () => {
    const { db } = kuvert.context;
    const entry = await addHallOfFameEntry({
      db,
      keys: kuvert.context.keys,
      name: 'Margaret',
      year: 2026,
      link: 'https://margaret.example',
      actor: 'admin:test',
      now: new Date('2026-12-02T00:00:00Z'),
    });
    await removeHallOfFameEntry({
      db,
      keys: kuvert.context.keys,
      id: entry.id,
      actor: 'admin:test',
    });
    const actions = (await db.selectFrom('audit_log').selectAll().execute())
      .filter((candidate) => candidate.subject === entry.id)
      .map((candidate) => candidate.action);
    expect(actions).toEqual(['hall_of_fame.added', 'hall_of_fame.removed']);
    for (const bad of [
      { name: 'x', year: 2026, link: 'javascript:alert(1)' },
      { name: 'x\u202Eevil', year: 2026 },
      { name: '', year: 2026 },
      { name: 'x', year: 1999 },
      { name: 'x', year: 3000 },
    ]) {
      await expect(
        addHallOfFameEntry({ db, keys: kuvert.context.keys, ...bad, actor: 'admin:test' }),
      ).rejects.toMatchObject({
        code: 'validation_failed',
      });
    }
  });
});

describe('the service OpenPGP key', () => {
  it('is generated on first start: Ed25519 + Curve25519, user id from the contact, file 0600, encrypted', async () => {
    const file = serviceKeyFilePath(kuvert.dataDir);
    const { statSync, readFileSync } = await import('node:fs');
    expect(statSync(file).mode & 0o777).toBe(0o600);
    const stored = await readPrivateKey({ armoredKey: readFileSync(file, 'utf8') });
    expect(stored.isDecrypted()).toBe(false);
    expect(stored.getAlgorithmInfo()).toEqual({ algorithm: 'eddsaLegacy', curve: 'ed25519Legacy' });
    expect(stored.subkeys[0]!.getAlgorithmInfo()).toEqual({
      algorithm: 'ecdh',
      curve: 'curve25519Legacy',
    });
    expect(stored.getUserIDs()).toEqual(['Kuvert security (kuvert.test) <security@kuvert.test>']);
    expect(stored.getFingerprint().toUpperCase()).toBe(kuvert.context.serviceKey.fingerprint);
    // The published key is the public half, without any secret material.
    const published = await serviceKey();
    expect(published.isPrivate()).toBe(false);
    expect(published.getFingerprint()).toBe(stored.getFingerprint());
  });

  it('is the same key on the next start, and is not made by a command that only reads', async () => {
    const keys = await loadMasterKeys({ dataDir: kuvert.dataDir });
    const options = {
      dataDir: kuvert.dataDir,
      keys,
      contact: 'mailto:security@kuvert.test',
      publicUrl: 'https://kuvert.test',
      createIfMissing: false,
    };
    const again = await loadServiceKey(options);
    expect(again.fingerprint).toBe(kuvert.context.serviceKey.fingerprint);
    await expect(
      loadServiceKey({ ...options, dataDir: path.join(kuvert.dataDir, 'elsewhere') }),
    ).rejects.toBeInstanceOf(ServiceKeyError);
  });

  it('opens only with the passphrase derived from these master keys', async () => {
    const { readFileSync } = await import('node:fs');
    const stored = await readPrivateKey({
      armoredKey: readFileSync(serviceKeyFilePath(kuvert.dataDir), 'utf8'),
    });
    const { decryptKey } = await import('openpgp');
    const keys = await loadMasterKeys({ dataDir: kuvert.dataDir });
    await expect(
      decryptKey({ privateKey: stored, passphrase: derivedServiceKeyPassphrase(keys) }),
    ).resolves.toBeDefined();
    const otherKeys = { ...keys, lookupKey: Buffer.alloc(32, 7) };
    await expect(
      decryptKey({ privateKey: stored, passphrase: derivedServiceKeyPassphrase(otherKeys) }),
    ).rejects.toThrow();
  });

  it('can be supplied by the operator: a key file 0600 and its passphrase', async () => {
    const { privateKey } = await generateKey({
      type: 'ecc',
      curve: 'curve25519Legacy',
      userIDs: [{ name: 'Operator', email: 'sec@operator.example' }],
      passphrase: 'operator passphrase',
      format: 'armored',
    });
    const file = path.join(kuvert.dataDir, 'operator-key.asc');
    await writeFile(file, privateKey, { mode: 0o600 });
    const keys = await loadMasterKeys({ dataDir: kuvert.dataDir });
    const options = {
      dataDir: kuvert.dataDir,
      keys,
      contact: 'mailto:x@y.example',
      publicUrl: 'https://kuvert.test',
      keyFile: file,
      createIfMissing: true,
    };
    const loaded = await loadServiceKey({ ...options, keyPassphrase: 'operator passphrase' });
    const expected = await readPrivateKey({ armoredKey: privateKey });
    expect(loaded.fingerprint).toBe(expected.getFingerprint().toUpperCase());
    await expect(loadServiceKey({ ...options, keyPassphrase: 'wrong' })).rejects.toThrow(
      /could not be decrypted/,
    );
    await expect(loadServiceKey(options)).rejects.toThrow(/KUVERT_OPENPGP_KEY_PASSPHRASE/);
    await chmod(file, 0o644);
    await expect(
      loadServiceKey({ ...options, keyPassphrase: 'operator passphrase' }),
    ).rejects.toThrow(/chmod 600/);
    // A message encrypted to the operator's key is what reports are then checked against.
    const message = await readMessage({
      armoredMessage: await encrypt({
        message: await createMessage({ text: 'x' }),
        encryptionKeys: expected.toPublic(),
      }),
    });
    expect(
      message.getEncryptionKeyIDs().some((id) => loaded.encryptionKeyIds.has(id.toHex())),
    ).toBe(true);
  });
});
