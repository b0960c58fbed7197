import { chmod, mkdtemp } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { encodeLetterForm, generateSenderKey, type SenderKey, signRequest } from '@kuvert/sdk';
import * as OTPAuth from 'otpauth';
import { buildApp } from '../src/app.js';
import { loadConfig } from '../src/config.js';
import { generateSyntheticNationalId } from '../src/mailboxes/national-id.js';
import { createMailbox } from '../src/mailboxes/service.js';
import { startRuntime } from '../src/runtime.js';
import { createSender, registerSenderKey } from '../src/senders/service.js';
import { buildPdf } from '../test/support/pdfs.js';

/**
 * The real Kuvert for the letter-open benchmark, in its own process: embedded PostgreSQL on
 * BENCH_PG_PORT in a fresh data directory, BENCH_RECIPIENTS recipients with one 100 KB letter
 * and one logged-in session each. Prints one JSON line: the port and, per recipient, the
 * session cookie and the path of the document to open. Started with `--import
 * ./without-audit.ts` it is the same server with audit appends switched off.
 */
const recipients = Number(process.env.BENCH_RECIPIENTS ?? 50);
const dataDir = await mkdtemp(path.join(tmpdir(), 'kuvert-bench-open-'));
await chmod(dataDir, 0o755); // the embedded cluster runs as `postgres` when we are root
const config = loadConfig({
  ...process.env,
  KUVERT_ENV: 'development',
  KUVERT_DATA_DIR: dataDir,
  KUVERT_DEMO: 'false',
  KUVERT_WORKERS: 'false',
  KUVERT_ACCEPT_SYNTHETIC_IDS: 'true',
  KUVERT_EMBEDDED_PG_PORT: String(process.env.BENCH_PG_PORT ?? 54396),
  LOG_LEVEL: 'warn',
});
const runtime = await startRuntime(config);
const app = await buildApp(runtime.context);
// Registered before the setup, so that a stop during it still stops the embedded cluster.
process.on('SIGTERM', () => {
  void (async () => {
    await app.close();
    // Proof of what was measured: the audited server wrote one entry per letter opened.
    const opened = await db
      .selectFrom('audit_log')
      .select((eb) => eb.fn.countAll<string>().as('n'))
      .where('action', '=', 'letter.opened')
      .executeTakeFirstOrThrow();
    process.stderr.write(`letter-open-server: ${opened.n} letter.opened audit entries\n`);
    await runtime.stop();
    process.exit(0);
  })();
});
const { db, keys } = runtime.context;
await app.listen({ port: 0, host: '127.0.0.1' });
const address = app.server.address();
const port = typeof address === 'object' && address ? address.port : 0;
const base = `http://127.0.0.1:${port}`;

const sender = await createSender({ db, keys, name: 'Bench sender', actor: 'bench' });
const senderJwk = generateSenderKey('ed25519');
const registered = await registerSenderKey({
  db,
  keys,
  senderId: sender.id,
  publicJwk: senderJwk.publicJwk,
  actor: 'bench',
});
const senderKey: SenderKey = {
  keyId: registered.keyId,
  algorithm: 'ed25519',
  privateKey: senderJwk.privateJwk,
};
const pdf = await buildPdf({ pages: 3, targetBytes: 100 * 1024, text: 'Kuvert benchmark letter' });

const targets: Array<{ cookie: string; path: string }> = [];
for (let index = 0; index < recipients; index++) {
  const nationalId = generateSyntheticNationalId();
  const password = `a long bench passphrase ${index}`;
  const created = await createMailbox({
    db,
    keys,
    nationalId,
    email: `bench-${index}@recipients.test`,
    language: 'nb',
    password,
    acceptSynthetic: true,
  });
  await deliver(nationalId);
  const cookie = await logIn(nationalId, password, created.totpSecret);
  targets.push({ cookie, path: await documentPath(cookie) });
}
process.stdout.write(`${JSON.stringify({ port, targets })}\n`);

async function deliver(nationalId: string): Promise<void> {
  const form = encodeLetterForm({
    messageId: crypto.randomUUID(),
    recipient: { nationalId },
    subject: 'Benchmark letter',
    document: { filename: 'letter.pdf', bytes: pdf },
  });
  const headers: Record<string, string> = { 'content-type': form.contentType };
  const url = `${base}/api/v1/letters`;
  Object.assign(
    headers,
    signRequest({ method: 'POST', url, headers, body: form.bytes, key: senderKey }),
  );
  const response = await fetch(url, { method: 'POST', headers, body: form.bytes });
  if (response.status !== 201)
    throw new Error(`delivery: ${response.status} ${await response.text()}`);
}

async function logIn(nationalId: string, password: string, totpSecret: string): Promise<string> {
  const totp = new OTPAuth.TOTP({ secret: OTPAuth.Secret.fromBase32(totpSecret) }).generate();
  const response = await fetch(`${base}/api/session`, {
    method: 'POST',
    headers: { 'content-type': 'application/json' },
    body: JSON.stringify({ nationalId, password, totp }),
  });
  if (response.status !== 200)
    throw new Error(`login: ${response.status} ${await response.text()}`);
  return response.headers.getSetCookie()[0]!.split(';')[0]!;
}

async function documentPath(cookie: string): Promise<string> {
  const response = await fetch(`${base}/api/letters`, { headers: { cookie } });
  const body = (await response.json()) as {
    letters: Array<{ id: string; documents: Array<{ id: string }> }>;
  };
  const letter = body.letters[0]!;
  return `/api/letters/${letter.id}/documents/${letter.documents[0]!.id}/content`;
}
