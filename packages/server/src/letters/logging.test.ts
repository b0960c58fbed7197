import { randomUUID } from 'node:crypto';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { encodeLetterForm, type Recipient } from '@kuvert/sdk';
import type { FastifyInstance, LightMyRequestResponse } from 'fastify';
import pino from 'pino';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { testPublicUrl } from '../../test/support/app.js';
import { createTestDatabase } from '../../test/support/database.js';
import {
  buildRecipient,
  buildSender,
  freshTotp,
  samplePdf,
  signedInject,
  type TestRecipient,
  type TestSender,
} from '../../test/support/factories.js';
import { buildApp } from '../app.js';
import { loadConfig } from '../config.js';
import type { AppContext } from '../context.js';
import { loggerOptions } from '../http/logger.js';
import { generateSyntheticNationalId } from '../mailboxes/national-id.js';
import { type Runtime, startRuntime } from '../runtime.js';

/**
 * Security invariant 3 and DESIGN.md "Logs": national identity numbers, passphrases, codes,
 * tokens and signatures never reach the log. The app runs with its real logger options at the
 * most verbose level, writing to memory, through a day in its life; then every line is searched.
 */
const lines: string[] = [];
let runtime: Runtime;
let context: AppContext;
let app: FastifyInstance;
let dataDir: string;
let sender: TestSender;
let recipient: TestRecipient;

/** Everything that must never appear in a log line, by what it is. */
const secrets = new Map<string, Set<string>>();
function remember(kind: string, value: string | undefined): void {
  if (!value) throw new Error(`no ${kind} to remember`);
  const known = secrets.get(kind) ?? new Set<string>();
  known.add(value);
  secrets.set(kind, known);
}

/** The values of a Signature header: the base64 of each signature (RFC 9421 §4.2). */
function signatureValues(header: string): string[] {
  return [...header.matchAll(/=:([A-Za-z0-9+/=]+):/g)].map((match) => match[1]!);
}

async function sendLetterRemembering(
  to: Recipient,
  mutate?: (headers: Record<string, string>) => void,
): Promise<LightMyRequestResponse> {
  const form = encodeLetterForm({
    messageId: randomUUID(),
    recipient: to,
    subject: 'Tax assessment 2026',
    document: { filename: 'assessment.pdf', bytes: await samplePdf() },
  });
  return signedInject(app, {
    method: 'POST',
    url: '/api/v1/letters',
    key: sender.key,
    body: form.bytes,
    contentType: form.contentType,
    mutate: (headers) => {
      mutate?.(headers);
      const signature = Object.entries(headers).find(
        ([name]) => name.toLowerCase() === 'signature',
      );
      remember('Signature header', signature?.[1]);
      for (const value of signatureValues(signature![1])) remember('signature value', value);
    },
  });
}

function sessionCookieOf(response: LightMyRequestResponse): string {
  const setCookie = response.headers['set-cookie'];
  const raw = Array.isArray(setCookie) ? setCookie[0] : setCookie;
  return raw!.split(';')[0]!;
}

async function waitFor(condition: () => boolean, what: string): Promise<void> {
  const deadline = Date.now() + 20_000;
  while (!condition()) {
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await new Promise((resolve) => setTimeout(resolve, 50));
  }
}

const responses: Record<string, LightMyRequestResponse> = {};

beforeAll(async () => {
  dataDir = await mkdtemp(path.join(tmpdir(), 'kuvert-logging-'));
  const config = loadConfig({
    KUVERT_ENV: 'test',
    KUVERT_DATA_DIR: dataDir,
    KUVERT_PUBLIC_URL: testPublicUrl,
    // Workers on: the notification job's log lines are searched too.
    KUVERT_WORKERS: 'true',
    LOG_LEVEL: 'trace',
  });
  const log = pino(loggerOptions(config.LOG_LEVEL), {
    write: (chunk: string) => {
      lines.push(chunk);
    },
  });
  runtime = await startRuntime(config, { databaseUrl: await createTestDatabase(), log });
  context = runtime.context;
  app = await buildApp(context);
  await app.ready();

  sender = await buildSender(context);
  recipient = await buildRecipient(context);
  remember('national identity number', recipient.nationalId);
  remember('passphrase', recipient.password);
  remember('TOTP secret', recipient.totpSecret);

  // A sender delivers by national identity number and by email; the recipient is notified.
  responses.byNationalId = await sendLetterRemembering({ nationalId: recipient.nationalId });
  responses.byEmail = await sendLetterRemembering({ email: recipient.email });
  await waitFor(() => (context.mailSink?.messages().length ?? 0) >= 2, 'two notifications');

  // Refused sender requests: a broken signature, malformed signature fields, bad national ids.
  responses.badSignature = await sendLetterRemembering(
    { nationalId: recipient.nationalId },
    (headers) => {
      const name = Object.keys(headers).find((key) => key.toLowerCase() === 'signature')!;
      headers[name] = headers[name]!.replace(/=:([A-Za-z0-9+/]{8})/, '=:AAAAAAAA');
    },
  );
  responses.malformedSignature = await sendLetterRemembering(
    { nationalId: recipient.nationalId },
    (headers) => {
      const name = Object.keys(headers).find((key) => key.toLowerCase() === 'signature')!;
      headers[name] = `${headers[name]!.replace(/:$/, '')} garbage`;
    },
  );
  const wrongControlDigit = `${recipient.nationalId.slice(0, 10)}${(Number(recipient.nationalId[10]) + 1) % 10}`;
  remember('invalid national identity number', wrongControlDigit);
  responses.invalidNationalId = await sendLetterRemembering({ nationalId: wrongControlDigit });
  const spaced = `${recipient.nationalId.slice(0, 6)} ${recipient.nationalId.slice(6)}`;
  remember('spaced national identity number', spaced);
  const stranger = generateSyntheticNationalId();
  remember('national identity number without a mailbox', stranger);
  responses.noMailbox = await sendLetterRemembering({ nationalId: stranger });

  // Failed logins: wrong passphrase, wrong code, malformed national id.
  const wrongPassphrase = 'a completely different passphrase 77';
  remember('wrong passphrase', wrongPassphrase);
  responses.wrongPassphrase = await app.inject({
    method: 'POST',
    url: '/api/session',
    headers: { origin: testPublicUrl },
    payload: { nationalId: spaced, password: wrongPassphrase, totp: '000000' },
  });
  // Malformed JSON: a parser error message must not quote the body around the fault.
  responses.malformedJson = await app.inject({
    method: 'POST',
    url: '/api/session',
    headers: { origin: testPublicUrl, 'content-type': 'application/json' },
    payload: `{"nationalId":"${recipient.nationalId}","password":${recipient.password}}`,
  });
  responses.shortNationalId = await app.inject({
    method: 'POST',
    url: '/api/session',
    headers: { origin: testPublicUrl },
    payload: { nationalId: '12345678', password: recipient.password, totp: '000000' },
  });

  // The real login, then reading the letter and logging out.
  const totp = await freshTotp(recipient);
  remember('TOTP code', totp);
  responses.login = await app.inject({
    method: 'POST',
    url: '/api/session',
    headers: { origin: testPublicUrl },
    payload: { nationalId: recipient.nationalId, password: recipient.password, totp },
  });
  const cookie = sessionCookieOf(responses.login);
  const csrfToken = responses.login.json<{ csrfToken: string }>().csrfToken;
  remember('session cookie', cookie.split('=')[1]);
  remember('CSRF token', csrfToken);

  const letterId = responses.byNationalId.json<{ id: string }>().id;
  responses.letter = await app.inject({
    method: 'GET',
    url: `/api/letters/${letterId}`,
    headers: { cookie },
  });
  const documentId = responses.letter.json<{ documents: Array<{ id: string }> }>().documents[0]!.id;
  responses.document = await app.inject({
    method: 'GET',
    url: `/api/letters/${letterId}/documents/${documentId}/content`,
    headers: { cookie },
  });
  responses.read = await app.inject({
    method: 'POST',
    url: `/api/letters/${letterId}/read`,
    headers: { cookie, 'x-csrf-token': csrfToken, origin: testPublicUrl },
  });
  responses.wrongCsrf = await app.inject({
    method: 'POST',
    url: `/api/letters/${letterId}/read`,
    headers: { cookie, 'x-csrf-token': `${csrfToken}x` },
  });
  responses.logout = await app.inject({
    method: 'DELETE',
    url: '/api/session',
    headers: { cookie, 'x-csrf-token': csrfToken, origin: testPublicUrl },
  });
  responses.afterLogout = await app.inject({
    method: 'GET',
    url: '/api/letters',
    headers: { cookie },
  });
});

afterAll(async () => {
  await app?.close();
  await runtime?.stop();
  if (dataDir) await rm(dataDir, { recursive: true, force: true });
});

function parsedLines(): Array<Record<string, unknown>> {
  return lines.map((line) => JSON.parse(line) as Record<string, unknown>);
}

describe('the log during a day in the life of Kuvert', () => {
  it('every step answered as intended (the scenario really ran)', () => {
    const statuses = Object.fromEntries(
      Object.entries(responses).map(([step, response]) => [step, response.statusCode]),
    );
    expect(statuses).toEqual({
      byNationalId: 201,
      byEmail: 201,
      badSignature: 401,
      malformedSignature: 401,
      invalidNationalId: 422,
      noMailbox: 422,
      wrongPassphrase: 401,
      malformedJson: 400,
      shortNationalId: 401,
      login: 200,
      letter: 200,
      document: 200,
      read: 204,
      wrongCsrf: 403,
      logout: 204,
      afterLogout: 401,
    });
    expect(responses.invalidNationalId!.json().code).toBe('invalid_national_id');
    expect(responses.noMailbox!.json().code).toBe('recipient_not_found');
  });

  it('captured the log: request lines and the reason for a refused signature', () => {
    expect(lines.length).toBeGreaterThan(20);
    const requestId = responses.badSignature!.headers['x-request-id'];
    const refused = parsedLines().find(
      (line) => line.reqId === requestId && line.code === 'signature_invalid',
    );
    expect(refused?.reason).toMatch(/does not verify/);
  });

  it('the notification job logged its work', () => {
    expect(parsedLines().some((line) => line.job === 'letter.notify')).toBe(true);
  });

  it.each([
    'national identity number',
    'invalid national identity number',
    'spaced national identity number',
    'national identity number without a mailbox',
    'passphrase',
    'wrong passphrase',
    'TOTP secret',
    'session cookie',
    'CSRF token',
    'Signature header',
    'signature value',
  ])('no log line contains a %s', (kind) => {
    const values = [...(secrets.get(kind) ?? [])];
    expect(values.length).toBeGreaterThan(0);
    for (const value of values) {
      const leaking = lines.filter((line) => line.includes(value));
      expect(leaking, `${kind} ${value}`).toEqual([]);
    }
  });

  it('no log line contains the TOTP code that logged in', () => {
    // A six-digit code can occur inside a longer number (a timestamp): match it alone.
    const [code] = [...(secrets.get('TOTP code') ?? [])];
    expect(code).toMatch(/^[0-9]{6}$/);
    const alone = new RegExp(`(?<![0-9])${code}(?![0-9])`);
    expect(lines.filter((line) => alone.test(line))).toEqual([]);
  });

  it('no log line contains the digits of a national identity number, however written', () => {
    const digits = recipient.nationalId;
    const spread = new RegExp(digits.split('').join('[^0-9A-Za-z]{0,3}'));
    expect(lines.filter((line) => spread.test(line))).toEqual([]);
  });
});

describe('loggerOptions redaction (defence in depth for a careless log call)', () => {
  function logOnce(object: Record<string, unknown>): string {
    const out: string[] = [];
    pino(loggerOptions('info'), { write: (chunk: string) => void out.push(chunk) }).info(
      object,
      'x',
    );
    return out.join('');
  }

  it.each([
    'password',
    'passphrase',
    'totp',
    'totpSecret',
    'nationalId',
    'national_id',
    'token',
    'csrfToken',
    'secret',
    'privateKey',
    'current',
    'recoveryCode',
    'recoveryCodes',
    'otpauthUri',
    'qrSvg',
  ])('redacts %s at the top level and two levels down', (key) => {
    const value = `leak-${key}-${randomUUID()}`;
    for (const object of [
      { [key]: value },
      { recipient: { [key]: value } },
      { body: { recipient: { [key]: value } } },
    ]) {
      const line = logOnce(object);
      expect(line, JSON.stringify(object)).not.toContain(value);
      expect(line).toContain('[redacted]');
    }
  });

  it('redacts the credential headers of a logged request and the Set-Cookie of a response', () => {
    const line = logOnce({
      req: {
        headers: {
          authorization: 'Bearer q-auth-value',
          cookie: 'kuvert_session=q-cookie-value',
          signature: 'sig1=:q-signature-value:',
          'x-csrf-token': 'q-csrf-value',
        },
      },
      res: { headers: { 'set-cookie': 'kuvert_session=q-set-cookie-value' } },
    });
    expect(line).not.toMatch(/q-[a-z-]+-value/);
  });
});
