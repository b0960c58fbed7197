import { randomUUID } from 'node:crypto';
import {
  encodeLetterForm,
  generateSenderKey,
  type Recipient,
  type SenderKey,
  signRequest,
} from '@kuvert/sdk';
import type { FastifyInstance, LightMyRequestResponse } from 'fastify';
import * as OTPAuth from 'otpauth';
import type { AppContext } from '../../src/context.js';
import { generateSyntheticNationalId } from '../../src/mailboxes/national-id.js';
import { createMailbox } from '../../src/mailboxes/service.js';
import { createSender, registerSenderKey } from '../../src/senders/service.js';
import { testPublicUrl } from './app.js';
import { buildPdf } from './pdfs.js';

export interface TestSender {
  senderId: string;
  key: SenderKey;
}

export async function buildSender(
  context: AppContext,
  options: { algorithm?: 'ed25519' | 'ecdsa-p256-sha256' } = {},
): Promise<TestSender> {
  const sender = await createSender({
    db: context.db,
    keys: context.keys,
    name: `Sender ${randomUUID()}`,
    actor: 'test',
  });
  const { privateJwk, publicJwk } = generateSenderKey(options.algorithm ?? 'ed25519');
  const { keyId, algorithm } = await registerSenderKey({
    db: context.db,
    keys: context.keys,
    senderId: sender.id,
    publicJwk,
    actor: 'test',
  });
  return { senderId: sender.id, key: { keyId, algorithm, privateKey: privateJwk } };
}

export interface TestRecipient {
  mailboxId: string;
  nationalId: string;
  email: string;
  password: string;
  totpSecret: string;
}

export async function buildRecipient(
  context: AppContext,
  options: { language?: 'nb' | 'nn' | 'en' } = {},
): Promise<TestRecipient> {
  const nationalId = generateSyntheticNationalId();
  const email = `${randomUUID()}@recipients.test`;
  const password = 'lantern over the quiet harbour 42';
  const created = await createMailbox({
    db: context.db,
    keys: context.keys,
    nationalId,
    email,
    language: options.language ?? 'nb',
    password,
    acceptSynthetic: true,
  });
  return {
    mailboxId: created.mailboxId,
    nationalId,
    email,
    password,
    totpSecret: created.totpSecret,
  };
}

export function currentTotp(secret: string, timestamp = Date.now()): string {
  return new OTPAuth.TOTP({
    secret: OTPAuth.Secret.fromBase32(secret),
    digits: 6,
    period: 30,
  }).generate({
    timestamp,
  });
}

export interface TestSession {
  cookie: string;
  csrfToken: string;
}

const lastTotpStep = new Map<string, number>();

/**
 * A TOTP code not used before by this recipient: a code is accepted once (replay protection),
 * and the server accepts the next step too, so use that or wait for time to move on.
 */
export async function freshTotp(recipient: TestRecipient): Promise<string> {
  const step = Math.floor(Date.now() / 30_000);
  const chosen = Math.max(step, (lastTotpStep.get(recipient.mailboxId) ?? -1) + 1);
  if (chosen > step + 1)
    await new Promise((resolve) => setTimeout(resolve, (chosen - 1) * 30_000 - Date.now() + 50));
  lastTotpStep.set(recipient.mailboxId, chosen);
  return currentTotp(recipient.totpSecret, chosen * 30_000);
}

/** Log in through the real API with password and TOTP. */
export async function loginAs(
  app: FastifyInstance,
  recipient: TestRecipient,
): Promise<TestSession> {
  const response = await app.inject({
    method: 'POST',
    url: '/api/session',
    headers: { origin: testPublicUrl },
    payload: {
      nationalId: recipient.nationalId,
      password: recipient.password,
      totp: await freshTotp(recipient),
    },
  });
  if (response.statusCode !== 200)
    throw new Error(`login failed: ${response.statusCode} ${response.body}`);
  const setCookie = response.headers['set-cookie'];
  const raw = Array.isArray(setCookie) ? setCookie[0] : setCookie;
  return {
    cookie: raw!.split(';')[0]!,
    csrfToken: response.json<{ csrfToken: string }>().csrfToken,
  };
}

export const testHost = new URL(testPublicUrl).host;

/** A request signed by a sender key, sent through the real app. */
export async function signedInject(
  app: FastifyInstance,
  options: {
    method: 'GET' | 'POST';
    url: string;
    key: SenderKey;
    body?: Buffer;
    contentType?: string;
    created?: number;
    mutate?: (headers: Record<string, string>) => void;
  },
): Promise<LightMyRequestResponse> {
  const headers: Record<string, string> = { host: testHost };
  if (options.contentType) headers['content-type'] = options.contentType;
  Object.assign(
    headers,
    signRequest({
      method: options.method,
      url: `${testPublicUrl}${options.url}`,
      headers,
      ...(options.body ? { body: options.body } : {}),
      key: options.key,
      ...(options.created !== undefined ? { created: options.created } : {}),
    }),
  );
  options.mutate?.(headers);
  return app.inject({
    method: options.method,
    url: options.url,
    headers,
    ...(options.body ? { payload: options.body } : {}),
  });
}

let cachedPdf: Uint8Array | undefined;
export async function samplePdf(): Promise<Uint8Array> {
  cachedPdf ??= await buildPdf({
    pages: 2,
    text: 'Kuvert test letter: secret plaintext marker 7f3a',
  });
  return cachedPdf;
}

export async function sendLetter(
  app: FastifyInstance,
  sender: TestSender,
  options: {
    recipient: Recipient;
    subject?: string;
    messageId?: string;
    pdf?: Uint8Array;
    filename?: string;
    authLevel?: 'two-factor' | 'eid-substantial' | 'eid-high';
  },
) {
  const form = encodeLetterForm({
    messageId: options.messageId ?? randomUUID(),
    recipient: options.recipient,
    subject: options.subject ?? 'Your annual statement',
    ...(options.authLevel !== undefined ? { authLevel: options.authLevel } : {}),
    document: {
      filename: options.filename ?? 'statement.pdf',
      bytes: options.pdf ?? (await samplePdf()),
    },
  });
  return signedInject(app, {
    method: 'POST',
    url: '/api/v1/letters',
    key: sender.key,
    body: form.bytes,
    contentType: form.contentType,
  });
}
