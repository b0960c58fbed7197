import { chmod, mkdtemp } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { createInterface } from 'node:readline';
import { generateSenderKey } from '@kuvert/sdk';
import { sql } from 'kysely';
import { buildApp } from '../src/app.js';
import { loadConfig } from '../src/config.js';
import { generateSyntheticNationalId } from '../src/mailboxes/national-id.js';
import { createMailbox } from '../src/mailboxes/service.js';
import { startRuntime } from '../src/runtime.js';
import { createSender, registerSenderKey } from '../src/senders/service.js';

/**
 * The real Kuvert for the ingest benchmark, in its own process: embedded PostgreSQL (or
 * DATABASE_URL) in a fresh data directory, filesystem blobs, workers on (notifications go to
 * the development mail sink), one sender and one recipient.
 */
const dataDir = await mkdtemp(path.join(tmpdir(), 'kuvert-bench-'));
await chmod(dataDir, 0o755); // the embedded cluster runs as `postgres` when we are root
const config = loadConfig({
  ...process.env,
  KUVERT_ENV: 'development',
  KUVERT_DATA_DIR: dataDir,
  KUVERT_DEMO: 'false',
  // Ingest is measured with the notification workers idle (as with a separate `kuvert worker`);
  // the parent then asks for a drain and measures that on its own.
  KUVERT_WORKERS: 'false',
  KUVERT_EMBEDDED_PG_PORT: String(process.env.BENCH_PG_PORT ?? 54399),
  LOG_LEVEL: 'warn',
});
const runtime = await startRuntime(config);
const app = await buildApp(runtime.context);
const { db, keys } = runtime.context;
const sender = await createSender({ db, keys, name: 'Bench sender', actor: 'bench' });
const { privateJwk, publicJwk } = generateSenderKey('ed25519');
const key = await registerSenderKey({
  db,
  keys,
  senderId: sender.id,
  publicJwk,
  actor: 'bench',
});
const nationalId = generateSyntheticNationalId();
await createMailbox({
  db,
  keys,
  nationalId,
  email: 'bench@recipients.test',
  language: 'nb',
  password: 'a long bench passphrase 1',
  acceptSynthetic: true,
});
await app.listen({ port: 0, host: '127.0.0.1' });
const address = app.server.address();
const port = typeof address === 'object' && address ? address.port : 0;
process.stdout.write(`${JSON.stringify({ port, keyId: key.keyId, privateJwk, nationalId })}\n`);
createInterface({ input: process.stdin }).on('line', (line) => {
  if (line.trim() === 'drain') void drainNotifications();
});

/** Start the workers on the backlog of notification jobs and report how fast it drains. */
async function drainNotifications() {
  const pending = async () => {
    const row = await sql<{ n: string }>`select count(*)::text as n from pgboss.job
      where name = 'letter.notify' and state in ('created', 'retry', 'active')`.execute(db);
    return Number(row.rows[0]?.n ?? 0);
  };
  const backlog = await pending();
  const started = process.hrtime.bigint();
  await runtime.context.queue.work(runtime.context);
  while ((await pending()) > 0) await new Promise((resolve) => setTimeout(resolve, 100));
  const seconds = Number(process.hrtime.bigint() - started) / 1e9;
  const sent = runtime.context.mailSink?.messages().length ?? 0;
  process.stdout.write(`${JSON.stringify({ drained: backlog, seconds, sinkMessages: sent })}\n`);
}

process.on('SIGTERM', () => {
  void (async () => {
    await app.close();
    await runtime.stop();
    process.exit(0);
  })();
});
