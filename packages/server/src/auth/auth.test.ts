import { createHash, randomBytes, randomUUID } from 'node:crypto';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { fastifyCookie } from '@fastify/cookie';
import { hash } from '@node-rs/argon2';
import Fastify, { type FastifyBaseLogger, type LightMyRequestResponse } from 'fastify';
import { sql } from 'kysely';
import { Secret, TOTP } from 'otpauth';
import pino from 'pino';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createTestDatabase } from '../../test/support/database.js';
import { verifyAuditLog } from '../audit/verify.js';
import { loadConfig } from '../config.js';
import { connectDatabase, type Db } from '../db/database.js';
import { openValue } from '../documents/envelope.js';
import { FsBlobStore } from '../documents/fs-blob-store.js';
import type { MasterKeys } from '../documents/master-keys.js';
import { isKuvertError } from '../errors.js';
import { loggerOptions } from '../http/logger.js';
import { installNoStoreForPrivateRoutes } from '../http/no-store.js';
import { installProblemHandlers } from '../http/problem.js';
import { generateSyntheticNationalId, parseNationalId } from '../mailboxes/national-id.js';
import { checkPassphrase, createMailbox, mailboxIdQueryFor } from '../mailboxes/service.js';
import { ipBucketKey, loginLimits } from './rate-limit.js';
import { type AuthContext, authRoutes } from './routes.js';
import { requireRecipient, sessionCookieNameFor, sessionIdOf } from './sessions.js';

const publicUrl = 'https://kuvert.test';
const passphrase = 'lamp orbit cinnamon tide';
/** `__Host-kuvert_session`: the public URL is https. */
const sessionCookieName = sessionCookieNameFor(publicUrl);

let db: Db;
let app: Awaited<ReturnType<typeof buildTestApp>>;
let keys: MasterKeys;
/** Every line the app logged, to prove that no national identity number is among them. */
const logLines: string[] = [];
/** Every number used in this file, searched for in logs and the audit log at the end. */
const usedNationalIds: string[] = [];
const issuedTokens: string[] = [];

/**
 * A bare Fastify app with the auth plugin, the problem handler, the no-store of private access
 * levels (as app.ts installs them) and a probe route.
 */
async function buildTestApp(context: AuthContext) {
  const log: FastifyBaseLogger = pino(loggerOptions('trace'), {
    write: (line: string) => logLines.push(line),
  });
  const instance = Fastify({ loggerInstance: log, genReqId: () => randomUUID() });
  installProblemHandlers(instance, publicUrl);
  installNoStoreForPrivateRoutes(instance);
  await instance.register(authRoutes(context), { prefix: '/api' });
  // A route of another module, in a sibling scope, guarded the way letters are.
  await instance.register(async (scope) => {
    scope.post(
      '/api/probe',
      { config: { access: 'recipient' }, preHandler: requireRecipient(context) },
      async (request) => ({ mailboxId: request.recipient?.mailboxId }),
    );
  });
  await instance.ready();
  return instance;
}

beforeAll(async () => {
  db = connectDatabase(await createTestDatabase(), { maxConnections: 5 });
  keys = { currentVersion: 1, keys: new Map([[1, randomBytes(32)]]), lookupKey: randomBytes(32) };
  const config = loadConfig({
    KUVERT_ENV: 'test',
    KUVERT_PUBLIC_URL: publicUrl,
    KUVERT_ACCEPT_SYNTHETIC_IDS: 'true',
  });
  app = await buildTestApp({ config, db, keys });
});

afterAll(async () => {
  await app?.close();
  await db?.destroy();
});

// ---------------------------------------------------------------------------------------
// helpers

let ipCounter = 0;
/** A fresh client address per test, so the per-IP bucket of one test never affects another. */
function nextIp(): string {
  ipCounter += 1;
  return `198.51.${100 + Math.floor(ipCounter / 250)}.${ipCounter % 250}`;
}

interface Recipient {
  nationalId: string;
  mailboxId: string;
  totpSecret: string;
}

function newNationalId(): string {
  let id = generateSyntheticNationalId();
  while (usedNationalIds.includes(id)) id = generateSyntheticNationalId();
  usedNationalIds.push(id);
  return id;
}

async function openMailbox(email?: string): Promise<Recipient> {
  const nationalId = newNationalId();
  const created = await createMailbox({
    db,
    keys,
    nationalId,
    email,
    language: 'nn',
    password: passphrase,
    acceptSynthetic: true,
  });
  return { nationalId, mailboxId: created.mailboxId, totpSecret: created.totpSecret };
}

/** The code an authenticator app shows, `steps` periods from now. */
function codeFor(recipient: Recipient, steps = 0): string {
  return TOTP.generate({
    secret: Secret.fromBase32(recipient.totpSecret),
    algorithm: 'SHA1',
    digits: 6,
    period: 30,
    timestamp: Date.now() + steps * 30_000,
  });
}

function wrongCodeFor(recipient: Recipient): string {
  const valid = new Set([-1, 0, 1].map((steps) => codeFor(recipient, steps)));
  for (let n = 0; ; n++) {
    const candidate = String(n).padStart(6, '0');
    if (!valid.has(candidate)) return candidate;
  }
}

async function logIn(
  body: { nationalId: string; password: string; totp: string },
  options: { ip: string; cookie?: string; origin?: string },
) {
  const headers: Record<string, string> = {};
  if (options.cookie) headers.cookie = `${sessionCookieName}=${options.cookie}`;
  if (options.origin) headers.origin = options.origin;
  const response = await app.inject({
    method: 'POST',
    url: '/api/session',
    payload: body,
    headers,
    remoteAddress: options.ip,
  });
  const token = sessionTokenOf(response);
  if (token) issuedTokens.push(token);
  return response;
}

async function logInAs(
  recipient: Recipient,
  options: { ip?: string; steps?: number; cookie?: string } = {},
) {
  const response = await logIn(
    {
      nationalId: recipient.nationalId,
      password: passphrase,
      totp: codeFor(recipient, options.steps),
    },
    { ip: options.ip ?? nextIp(), ...(options.cookie ? { cookie: options.cookie } : {}) },
  );
  expect(response.statusCode, response.body).toBe(200);
  return {
    token: sessionTokenOf(response)!,
    csrfToken: response.json().csrfToken as string,
    response,
  };
}

function setCookieHeader(response: LightMyRequestResponse): string | undefined {
  const header = response.headers['set-cookie'];
  return Array.isArray(header) ? header[0] : header;
}

function sessionTokenOf(response: LightMyRequestResponse): string | undefined {
  const header = setCookieHeader(response);
  if (!header) return undefined;
  const value = fastifyCookie.parse(header)[sessionCookieName];
  return value ? value : undefined;
}

function withSession(token: string, extra: Record<string, string> = {}) {
  return { cookie: `${sessionCookieName}=${token}`, ...extra };
}

/** A problem document without the parts that differ per request by design. */
function comparable(response: LightMyRequestResponse) {
  const { requestId: _requestId, instance: _instance, ...rest } = response.json();
  return { status: response.statusCode, contentType: response.headers['content-type'], body: rest };
}

async function sessionRow(token: string) {
  return db
    .selectFrom('sessions')
    .selectAll()
    .where('id', '=', sessionIdOf(token))
    .executeTakeFirstOrThrow();
}

// ---------------------------------------------------------------------------------------

describe('createMailbox', () => {
  it('stores the number sealed and hashed, the passphrase as argon2id, and audits', async () => {
    const nationalId = newNationalId();
    const created = await createMailbox({
      db,
      keys,
      nationalId,
      email: 'Kari.Nordmann@Example.no',
      language: 'nb',
      password: 'blåbær og brunost på fjellet',
      acceptSynthetic: true,
    });
    expect(created.totpSecret).toMatch(/^[A-Z2-7]{32}$/);
    expect(created.otpauthUri).toMatch(/^otpauth:\/\/totp\//);
    expect(created.otpauthUri).toContain(`secret=${created.totpSecret}`);
    expect(created.otpauthUri).toContain('algorithm=SHA1&digits=6&period=30');
    expect(created.otpauthUri).not.toContain(nationalId);

    const row = await db
      .selectFrom('mailboxes')
      .selectAll()
      .where('id', '=', created.mailboxId)
      .executeTakeFirstOrThrow();
    expect(row.email).toBe('kari.nordmann@example.no');
    expect(row.national_id_sealed.toString('latin1')).not.toContain(nationalId);
    expect(
      openValue(
        row.national_id_sealed,
        `mailbox:${created.mailboxId}:national-id`,
        keys,
      ).toString(),
    ).toBe(nationalId);
    // OWASP Password Storage Cheat Sheet minimum for argon2id.
    expect(row.password_hash).toMatch(/^\$argon2id\$v=19\$m=19456,t=2,p=1\$/);
    const secret = openValue(
      row.totp_secret_sealed as Buffer,
      `mailbox:${created.mailboxId}:totp`,
      keys,
    );
    expect(secret).toHaveLength(20);
    expect(Secret.fromBase32(created.totpSecret).hex.toLowerCase()).toBe(secret.toString('hex'));

    // Letters find the mailbox the way ingest does: a validated number's keyed hash, or the email.
    const lookUp = async (recipient: Parameters<typeof mailboxIdQueryFor>[0]) =>
      (await mailboxIdQueryFor(recipient).execute(db)).rows[0]?.id;
    const byNumber = (input: string) => {
      const parsed = parseNationalId(input, { acceptSynthetic: true });
      if (!parsed.ok) throw new Error(parsed.reason);
      return lookUp({ keys, nationalId: parsed.value });
    };
    const expected = created.mailboxId;
    expect(await byNumber(nationalId)).toEqual(expected);
    expect(await byNumber(`${nationalId.slice(0, 6)} ${nationalId.slice(6)}`)).toEqual(expected);
    expect(await lookUp({ email: 'KARI.nordmann@example.NO' })).toEqual(expected);
    expect(await lookUp({ email: 'nobody@example.no' })).toBeUndefined();
    expect(await byNumber(newNationalId())).toBeUndefined();

    const audit = await db
      .selectFrom('audit_log')
      .selectAll()
      .where('action', '=', 'mailbox.created')
      .where('subject', '=', created.mailboxId)
      .executeTakeFirstOrThrow();
    expect(JSON.stringify(audit.details)).not.toContain(nationalId);
    expect(JSON.stringify(audit.details)).not.toContain('kari');
  });

  it('refuses a duplicate number or email with a clear message', async () => {
    const nationalId = newNationalId();
    const base = { db, keys, language: 'en' as const, password: passphrase, acceptSynthetic: true };
    await createMailbox({ ...base, nationalId, email: 'dup@example.no' });
    await expect(
      createMailbox({ ...base, nationalId, email: 'other@example.no' }),
    ).rejects.toMatchObject({
      code: 'validation_failed',
      detail: 'A mailbox with this national identity number already exists.',
    });
    await expect(
      createMailbox({ ...base, nationalId: newNationalId(), email: 'DUP@example.no' }),
    ).rejects.toMatchObject({
      code: 'validation_failed',
      detail: 'A mailbox with this email address already exists.',
    });
  });

  it('refuses an invalid national identity number, and synthetic ones when not accepted', async () => {
    const base = { db, keys, language: 'en' as const, password: passphrase };
    await expect(
      createMailbox({ ...base, nationalId: '12345678901', acceptSynthetic: true }),
    ).rejects.toMatchObject({ code: 'invalid_national_id' });
    await expect(
      createMailbox({ ...base, nationalId: generateSyntheticNationalId(), acceptSynthetic: false }),
    ).rejects.toMatchObject({
      code: 'invalid_national_id',
      detail: expect.stringContaining('Synthetic'),
    });
  });

  describe('passphrase policy (promise 4: length, not composition rules)', () => {
    const nationalId = '01018012345';
    it.each([
      ['a long lower-case passphrase', 'lamp orbit cinnamon tide'],
      ['only lower-case letters, 12 of them', 'qzmvkeplxtrw'],
      ['Norwegian letters counted as one character each', 'grønn fjærås'],
      ['no digits, no symbols', 'the cat sat on the warm mat'],
    ])('accepts %s', (_name, password) => {
      expect(checkPassphrase(password, { nationalId })).toBeUndefined();
    });

    it.each([
      ['shorter than 12 characters', 'Tr0ub4dor&3', /at least 12 characters/],
      ['longer than 256 characters', 'word '.repeat(52), /at most 256/],
      ['a very common one', 'Password1234', /first that attackers try/],
      ['a common one with spaces', 'Password Password', /first that attackers try/],
      ['one repeated character', 'aaaaaaaaaaaaaaa', /first that attackers try/],
      // The strength estimate (zxcvbn-ts) catches what length alone let through.
      ['a run of the alphabet', 'abcdefghijkm', /guessed too easily/],
      ['a repeated pattern', 'æøåæøåblåbær', /guessed too easily/],
      ['the national identity number', `my number ${nationalId}`, /national identity number/],
      [
        'the national identity number with spaces',
        `010180 12345 is me`,
        /national identity number/,
      ],
    ])('refuses %s with a helpful message', (_name, password, message) => {
      expect(checkPassphrase(password, { nationalId })).toMatch(message);
    });

    it('reaches createMailbox as validation_failed', async () => {
      await expect(
        createMailbox({
          db,
          keys,
          nationalId: newNationalId(),
          language: 'en',
          password: 'short',
          acceptSynthetic: true,
        }),
      ).rejects.toSatisfy(
        (error: unknown) =>
          isKuvertError(error) &&
          error.code === 'validation_failed' &&
          /12 characters/.test(error.detail ?? ''),
      );
    });
  });
});

describe('POST /api/session', () => {
  it('logs in with passphrase and TOTP and sets a strict session cookie', async () => {
    const recipient = await openMailbox();
    const response = await logIn(
      { nationalId: recipient.nationalId, password: passphrase, totp: codeFor(recipient) },
      { ip: nextIp(), origin: publicUrl },
    );
    expect(response.statusCode, response.body).toBe(200);
    const body = response.json();
    expect(body).toEqual({
      mailbox: { id: recipient.mailboxId, language: 'nn' },
      csrfToken: expect.stringMatching(/^[A-Za-z0-9_-]{43}$/),
      expiresAt: expect.any(String),
    });
    expect(response.headers['cache-control']).toBe('no-store');

    const cookie = setCookieHeader(response)!;
    // RFC 6265bis §4.1.3.2: __Host- on an https origin, so Secure, Path=/ and no Domain.
    expect(cookie).toMatch(/^__Host-kuvert_session=[A-Za-z0-9_-]{43};/);
    const attributes = cookie.split(';').map((part) => part.trim().toLowerCase());
    expect(attributes).toContain('httponly');
    expect(attributes).toContain('secure');
    expect(attributes).toContain('samesite=strict');
    expect(attributes).toContain('path=/');
    expect(attributes.some((a) => a.startsWith('domain'))).toBe(false);
    // A session cookie: it ends with the browser, the server enforces the timeouts.
    expect(attributes.some((a) => a.startsWith('max-age') || a.startsWith('expires'))).toBe(false);

    // The device cookie (OWASP device cookies): long-lived, HttpOnly, Secure, SameSite=Strict.
    const device = (response.headers['set-cookie'] as string[])[1]!;
    expect(device).toMatch(new RegExp(`^__Host-kuvert_device=v1\\.${recipient.mailboxId}\\.`));
    const deviceAttributes = device.split(';').map((part) => part.trim().toLowerCase());
    expect(deviceAttributes).toEqual(
      expect.arrayContaining([
        'httponly',
        'secure',
        'samesite=strict',
        'path=/',
        `max-age=${180 * 24 * 3600}`,
      ]),
    );
    expect(deviceAttributes.some((a) => a.startsWith('domain'))).toBe(false);

    const token = sessionTokenOf(response)!;
    const row = await sessionRow(token);
    expect(row.id.equals(createHash('sha256').update(token).digest())).toBe(true);
    expect(row.mailbox_id).toBe(recipient.mailboxId);
    expect(row.auth_level).toBe('two-factor');
    expect(row.csrf_token).toBe(body.csrfToken);
    expect(row.revoked_at).toBeNull();
    expect(new Date(body.expiresAt).getTime()).toBe(row.expires_at.getTime());
    const lifetime = row.expires_at.getTime() - row.created_at.getTime();
    expect(lifetime).toBeGreaterThanOrEqual(12 * 3600 * 1000 - 1000);
    expect(lifetime).toBeLessThanOrEqual(12 * 3600 * 1000 + 1000);
    // The token itself is stored nowhere.
    const everything = await sql<{
      dump: string;
    }>`select row_to_json(s)::text as dump from sessions s`.execute(db);
    expect(everything.rows.some((r) => r.dump.includes(token))).toBe(false);
  });

  it('answers wrong passphrase, wrong code, unknown and malformed numbers identically', async () => {
    const recipient = await openMailbox();
    const attempts = [
      {
        nationalId: recipient.nationalId,
        password: 'wrong horse battery',
        totp: codeFor(recipient),
      },
      { nationalId: recipient.nationalId, password: passphrase, totp: wrongCodeFor(recipient) },
      { nationalId: recipient.nationalId, password: passphrase, totp: 'abcdef' },
      { nationalId: newNationalId(), password: passphrase, totp: codeFor(recipient) },
      { nationalId: '12345', password: passphrase, totp: codeFor(recipient) },
    ];
    const answers = [];
    for (const body of attempts) answers.push(await logIn(body, { ip: nextIp() }));
    for (const answer of answers) {
      expect(answer.headers['set-cookie']).toBeUndefined();
      expect(comparable(answer)).toEqual(comparable(answers[0]!));
    }
    expect(comparable(answers[0]!)).toEqual({
      status: 401,
      contentType: 'application/problem+json; charset=utf-8',
      body: {
        type: `${publicUrl}/problems/login_failed`,
        title: 'Login failed',
        status: 401,
        code: 'login_failed',
      },
    });
  });

  it('accepts a code from the previous or next time step (window 1) but refuses it twice', async () => {
    const recipient = await openMailbox();
    const ip = nextIp();
    await logInAs(recipient, { ip, steps: -1 });
    const code = codeFor(recipient, 1);
    await logInAs(recipient, { ip, steps: 1 });
    const replay = await logIn(
      { nationalId: recipient.nationalId, password: passphrase, totp: code },
      { ip },
    );
    expect(replay.statusCode).toBe(401);
    expect(replay.json().code).toBe('login_failed');
    // An older code than the last accepted one is refused too.
    const older = await logIn(
      { nationalId: recipient.nationalId, password: passphrase, totp: codeFor(recipient, 0) },
      { ip },
    );
    expect(older.statusCode).toBe(401);
    const failure = await db
      .selectFrom('audit_log')
      .select('details')
      .where('action', '=', 'login.failed')
      .where('subject', '=', recipient.mailboxId)
      .orderBy('seq', 'desc')
      .executeTakeFirstOrThrow();
    expect(failure.details).toMatchObject({ reason: 'totp_replayed', ip });
  });

  it('refuses a code two steps away', async () => {
    const recipient = await openMailbox();
    const response = await logIn(
      { nationalId: recipient.nationalId, password: passphrase, totp: codeFor(recipient, 2) },
      { ip: nextIp() },
    );
    expect(response.statusCode).toBe(401);
  });

  it(`makes the attempt after ${loginLimits.perAccount} failures on one account wait, even from other addresses`, async () => {
    const recipient = await openMailbox();
    for (let i = 0; i < loginLimits.perAccount; i++) {
      const failed = await logIn(
        {
          nationalId: recipient.nationalId,
          password: `not the passphrase ${i}`,
          totp: codeFor(recipient),
        },
        { ip: nextIp() },
      );
      expect(failed.statusCode).toBe(401);
    }
    // Even the right passphrase and code: the wait applies before anything is checked.
    const limited = await logIn(
      { nationalId: recipient.nationalId, password: passphrase, totp: codeFor(recipient) },
      { ip: nextIp() },
    );
    expect(limited.statusCode).toBe(429);
    expect(limited.json()).toMatchObject({ code: 'rate_limited', status: 429 });
    const retryAfter = Number(limited.headers['retry-after']);
    expect(retryAfter).toBeGreaterThan(loginLimits.firstDelaySeconds - 5);
    expect(retryAfter).toBeLessThanOrEqual(loginLimits.firstDelaySeconds);
    expect(limited.json().retryAfter).toBe(retryAfter);
    expect(limited.json().detail).toBe(
      `Too many failed logins. Wait ${retryAfter} seconds and try again.`,
    );
    expect(limited.headers['set-cookie']).toBeUndefined();

    // The account bucket is a keyed hash; the number is not in login_attempts.
    const buckets = await db.selectFrom('login_attempts').select('bucket').execute();
    expect(buckets.some((row) => row.bucket.includes(recipient.nationalId))).toBe(false);

    // Once the wait has passed, the account opens again.
    await sql`update login_attempts set at = at - make_interval(secs => ${loginLimits.firstDelaySeconds})`.execute(
      db,
    );
    await logInAs(recipient);
  });

  it('audits the moment a lock-out begins, once, and not each refused attempt', async () => {
    const recipient = await openMailbox();
    const lockOuts = () =>
      db
        .selectFrom('audit_log')
        .select(['actor', 'subject', 'details'])
        .where('action', '=', 'login.locked_out')
        .where('subject', '=', recipient.mailboxId)
        .execute();
    const ips: string[] = [];
    for (let i = 0; i < loginLimits.perAccount; i++) {
      ips.push(nextIp());
      const failed = await logIn(
        { nationalId: recipient.nationalId, password: `wrong ${i}`, totp: codeFor(recipient) },
        { ip: ips[i]! },
      );
      expect(failed.statusCode).toBe(401);
      expect(await lockOuts()).toHaveLength(i === loginLimits.perAccount - 1 ? 1 : 0);
    }
    for (let i = 0; i < 3; i++) {
      const refused = await logIn(
        { nationalId: recipient.nationalId, password: passphrase, totp: codeFor(recipient) },
        { ip: nextIp() },
      );
      expect(refused.statusCode).toBe(429);
    }
    expect(await lockOuts()).toEqual([
      {
        actor: 'anonymous',
        subject: recipient.mailboxId,
        details: {
          limit: 'account',
          failures: loginLimits.perAccount,
          retryAfterSeconds: loginLimits.firstDelaySeconds,
          ip: ips.at(-1),
        },
      },
    ]);
  });

  it('limits an unknown number exactly like a known one', async () => {
    const nationalId = newNationalId();
    const ip = nextIp();
    const statuses = [];
    for (let i = 0; i <= loginLimits.perAccount; i++) {
      const response = await logIn({ nationalId, password: passphrase, totp: '123456' }, { ip });
      statuses.push(response.statusCode);
    }
    expect(statuses).toEqual([...Array(loginLimits.perAccount).fill(401), 429]);
  });

  it(`refuses an address after ${loginLimits.perIp} failures across accounts`, async () => {
    const ip = nextIp();
    for (let i = 0; i < loginLimits.perIp; i++) {
      const failed = await logIn(
        { nationalId: newNationalId(), password: passphrase, totp: '123456' },
        { ip },
      );
      expect(failed.statusCode).toBe(401);
    }
    const recipient = await openMailbox();
    const limited = await logIn(
      { nationalId: recipient.nationalId, password: passphrase, totp: codeFor(recipient) },
      { ip },
    );
    expect(limited.statusCode).toBe(429);
    expect(Number(limited.headers['retry-after'])).toBeGreaterThan(0);
    // Another address is not affected.
    await logInAs(recipient, { ip: nextIp() });
  });

  it('groups IPv6 addresses by /64 and unwraps IPv4-mapped addresses', () => {
    expect(ipBucketKey('2001:db8:1:2:aaaa::1')).toBe('2001:db8:1:2::/64');
    expect(ipBucketKey('2001:db8:1:2:bbbb:cccc:dddd:eeee')).toBe('2001:db8:1:2::/64');
    expect(ipBucketKey('2001:db8::1')).toBe('2001:db8:0:0::/64');
    expect(ipBucketKey('::ffff:192.0.2.7')).toBe('192.0.2.7');
    expect(ipBucketKey('192.0.2.7')).toBe('192.0.2.7');
  });

  it('refuses a login posted from a foreign origin (login CSRF)', async () => {
    const recipient = await openMailbox();
    for (const origin of ['https://evil.example', 'null', 'http://kuvert.test']) {
      const response = await logIn(
        { nationalId: recipient.nationalId, password: passphrase, totp: codeFor(recipient) },
        { ip: nextIp(), origin },
      );
      expect(response.statusCode).toBe(403);
      expect(response.json().code).toBe('csrf_failed');
    }
  });

  it('validates the body before anything else', async () => {
    const response = await app.inject({
      method: 'POST',
      url: '/api/session',
      payload: { nationalId: '01018012345', password: '' },
    });
    expect(response.statusCode).toBe(422);
    expect(response.json().code).toBe('validation_failed');
  });

  it('upgrades a password hash made with older parameters at the next login', async () => {
    const recipient = await openMailbox();
    const weaker = await hash(passphrase.normalize('NFKC'), { memoryCost: 4096, timeCost: 3 });
    await db
      .updateTable('mailboxes')
      .set({ password_hash: weaker })
      .where('id', '=', recipient.mailboxId)
      .execute();
    await logInAs(recipient);
    const row = await db
      .selectFrom('mailboxes')
      .select('password_hash')
      .where('id', '=', recipient.mailboxId)
      .executeTakeFirstOrThrow();
    expect(row.password_hash).toMatch(/^\$argon2id\$v=19\$m=19456,t=2,p=1\$/);
  });

  it('rotates on login: the session the browser presented is revoked', async () => {
    const recipient = await openMailbox();
    const first = await logInAs(recipient, { steps: -1 });
    const second = await logInAs(recipient, { cookie: first.token, steps: 0 });
    expect(second.token).not.toBe(first.token);
    expect((await sessionRow(first.token)).revoked_at).not.toBeNull();
    const old = await app.inject({
      method: 'GET',
      url: '/api/session',
      headers: withSession(first.token),
    });
    expect(old.statusCode).toBe(401);
    const current = await app.inject({
      method: 'GET',
      url: '/api/session',
      headers: withSession(second.token),
    });
    expect(current.statusCode).toBe(200);
    const ended = await db
      .selectFrom('audit_log')
      .select('details')
      .where('action', '=', 'session.ended')
      .where('subject', '=', recipient.mailboxId)
      .executeTakeFirstOrThrow();
    expect(ended.details).toMatchObject({ reason: 'replaced_by_login' });
  });
});

describe('GET and DELETE /api/session', () => {
  it('returns the session for its cookie, and 401 without one', async () => {
    const recipient = await openMailbox();
    const { token, response: login } = await logInAs(recipient);
    const response = await app.inject({
      method: 'GET',
      url: '/api/session',
      headers: withSession(token),
    });
    expect(response.statusCode).toBe(200);
    expect(response.json()).toEqual(login.json());
    expect(response.headers['cache-control']).toBe('no-store');

    const none = await app.inject({ method: 'GET', url: '/api/session' });
    expect(none.statusCode).toBe(401);
    expect(none.json().code).toBe('unauthenticated');
    const forged = await app.inject({
      method: 'GET',
      url: '/api/session',
      headers: withSession(randomBytes(32).toString('base64url')),
    });
    expect(forged.statusCode).toBe(401);
    // The browser is told to drop a cookie that no longer works.
    expect(setCookieHeader(forged)).toMatch(new RegExp(`^${sessionCookieName}=;.*Max-Age=0`));
  });

  it('logs out with the CSRF token: revokes the row, clears the cookie, audits', async () => {
    const recipient = await openMailbox();
    const { token, csrfToken } = await logInAs(recipient);

    const missing = await app.inject({
      method: 'DELETE',
      url: '/api/session',
      headers: withSession(token),
    });
    expect(missing.statusCode).toBe(403);
    expect(missing.json().code).toBe('csrf_failed');
    const wrong = await app.inject({
      method: 'DELETE',
      url: '/api/session',
      headers: withSession(token, { 'x-csrf-token': randomBytes(32).toString('base64url') }),
    });
    expect(wrong.statusCode).toBe(403);
    const foreign = await app.inject({
      method: 'DELETE',
      url: '/api/session',
      headers: withSession(token, { 'x-csrf-token': csrfToken, origin: 'https://evil.example' }),
    });
    expect(foreign.statusCode).toBe(403);
    expect(foreign.json().code).toBe('csrf_failed');
    expect((await sessionRow(token)).revoked_at).toBeNull();

    const response = await app.inject({
      method: 'DELETE',
      url: '/api/session',
      headers: withSession(token, { 'x-csrf-token': csrfToken, origin: publicUrl }),
    });
    expect(response.statusCode).toBe(204);
    const cleared = setCookieHeader(response)!;
    expect(cleared).toMatch(new RegExp(`^${sessionCookieName}=;`));
    expect(cleared).toContain('Max-Age=0');
    expect((await sessionRow(token)).revoked_at).not.toBeNull();

    const after = await app.inject({
      method: 'GET',
      url: '/api/session',
      headers: withSession(token),
    });
    expect(after.statusCode).toBe(401);
    const ended = await db
      .selectFrom('audit_log')
      .select(['actor', 'details'])
      .where('action', '=', 'session.ended')
      .where('subject', '=', recipient.mailboxId)
      .executeTakeFirstOrThrow();
    expect(ended.actor).toBe(`mailbox:${recipient.mailboxId}`);
    expect(ended.details).toMatchObject({
      reason: 'logout',
      sessionId: sessionIdOf(token).toString('hex'),
    });
  });

  it('guards routes of other modules: session and CSRF token on state changes', async () => {
    const recipient = await openMailbox();
    const { token, csrfToken } = await logInAs(recipient);
    const noSession = await app.inject({
      method: 'POST',
      url: '/api/probe',
      headers: { 'x-csrf-token': csrfToken },
    });
    expect(noSession.statusCode).toBe(401);
    const noToken = await app.inject({
      method: 'POST',
      url: '/api/probe',
      headers: withSession(token),
    });
    expect(noToken.statusCode).toBe(403);
    const ok = await app.inject({
      method: 'POST',
      url: '/api/probe',
      headers: withSession(token, { 'x-csrf-token': csrfToken }),
    });
    expect(ok.statusCode).toBe(200);
    expect(ok.json()).toEqual({ mailboxId: recipient.mailboxId });
  });

  it('ends a session idle for more than 30 minutes', async () => {
    const { token } = await logInAs(await openMailbox());
    await sql`update sessions set last_seen_at = now() - interval '29 minutes' where id = ${sessionIdOf(token)}`.execute(
      db,
    );
    const fresh = await app.inject({
      method: 'GET',
      url: '/api/session',
      headers: withSession(token),
    });
    expect(fresh.statusCode).toBe(200);
    await sql`update sessions set last_seen_at = now() - interval '31 minutes' where id = ${sessionIdOf(token)}`.execute(
      db,
    );
    const idle = await app.inject({
      method: 'GET',
      url: '/api/session',
      headers: withSession(token),
    });
    expect(idle.statusCode).toBe(401);
  });

  it('ends a session at its absolute expiry, however active', async () => {
    const { token } = await logInAs(await openMailbox());
    await sql`update sessions set created_at = now() - interval '12 hours', expires_at = now() - interval '1 second' where id = ${sessionIdOf(token)}`.execute(
      db,
    );
    const response = await app.inject({
      method: 'GET',
      url: '/api/session',
      headers: withSession(token),
    });
    expect(response.statusCode).toBe(401);
  });

  it('refuses a revoked session', async () => {
    const { token } = await logInAs(await openMailbox());
    await sql`update sessions set revoked_at = now() where id = ${sessionIdOf(token)}`.execute(db);
    const response = await app.inject({
      method: 'GET',
      url: '/api/session',
      headers: withSession(token),
    });
    expect(response.statusCode).toBe(401);
  });

  it('moves last_seen_at at most once a minute', async () => {
    const { token } = await logInAs(await openMailbox());
    await sql`update sessions set last_seen_at = now() - interval '5 minutes' where id = ${sessionIdOf(token)}`.execute(
      db,
    );
    const before = (await sessionRow(token)).last_seen_at;
    await app.inject({ method: 'GET', url: '/api/session', headers: withSession(token) });
    const touched = (await sessionRow(token)).last_seen_at;
    expect(touched.getTime()).toBeGreaterThan(before.getTime() + 4 * 60 * 1000);
    await app.inject({ method: 'GET', url: '/api/session', headers: withSession(token) });
    expect((await sessionRow(token)).last_seen_at.getTime()).toBe(touched.getTime());
  });
});

describe('what is written down', () => {
  it('audits logins without the number or the passphrase, in an intact chain', async () => {
    const recipient = await openMailbox();
    const ip = nextIp();
    await logIn(
      { nationalId: recipient.nationalId, password: 'not it at all', totp: codeFor(recipient) },
      { ip },
    );
    await logInAs(recipient, { ip });
    const entries = await db
      .selectFrom('audit_log')
      .select(['actor', 'action', 'subject', 'details'])
      .where('subject', '=', recipient.mailboxId)
      .orderBy('seq')
      .execute();
    expect(entries.map((entry) => entry.action)).toEqual([
      'mailbox.created',
      'login.failed',
      'login.succeeded',
    ]);
    expect(entries[1]!.details).toEqual({
      reason: 'wrong_password',
      method: 'password+totp',
      ip,
      device: { browser: null, os: null },
      trustedDevice: false,
    });
    expect(entries[2]!.details).toMatchObject({ method: 'password+totp', ip });

    const all = JSON.stringify(await db.selectFrom('audit_log').selectAll().execute());
    for (const nationalId of usedNationalIds) expect(all).not.toContain(nationalId);
    expect(all).not.toContain(passphrase);
    // No checkpoint store in this file: a store of its own, empty, so the links are what count.
    const blobs = new FsBlobStore({ dataDir: path.join(tmpdir(), `kuvert-auth-${randomUUID()}`) });
    expect((await verifyAuditLog({ db, keys, blobs })).problems).toEqual([]);
  });

  it('never logs a national identity number, passphrase or session token', () => {
    expect(logLines.length).toBeGreaterThan(50);
    const log = logLines.join('\n');
    expect(log).toContain('"code":"login_failed"');
    for (const nationalId of usedNationalIds) expect(log).not.toContain(nationalId);
    expect(log).not.toContain(passphrase);
    expect(issuedTokens.length).toBeGreaterThan(5);
    for (const token of issuedTokens) expect(log).not.toContain(token);
  });
});
