import { chmod, mkdir, rm } from 'node:fs/promises';
import path from 'node:path';
import { generateSenderKey } from '@kuvert/sdk';
import type { FastifyInstance } from 'fastify';
import { sql } from 'kysely';
import { buildApp } from '../src/app.js';
import { loadConfig } from '../src/config.js';
import { generateSyntheticNationalId } from '../src/mailboxes/national-id.js';
import { createMailbox } from '../src/mailboxes/service.js';
import { type Runtime, startRuntime } from '../src/runtime.js';
import { createSender, registerSenderKey } from '../src/senders/service.js';
import { freePort } from '../test/support/ports.js';
import { threadIds } from './cpu.js';
import { onBenchMessage, onStopRequested, sendToBench } from './ipc.js';

/**
 * The real Kuvert for the ingest benchmark, in its own process: embedded PostgreSQL (or
 * DATABASE_URL) in a fresh data directory, filesystem blobs, workers idle until the bench asks
 * for a drain (notifications go to the development mail sink), one sender and one recipient.
 * Started by the bench (children.ts), which made the run directory and removes it; this
 * process removes its data as well when it stops, and the whole run directory if the bench is
 * gone.
 */
const runDir = process.env.BENCH_RUN_DIR;
if (!runDir) throw new Error('BENCH_RUN_DIR is not set: run this through `npm run bench`');
const dataDir = path.join(runDir, 'data');

let runtime: Runtime | undefined;
let app: FastifyInstance | undefined;
const startup = start();
// Registered before start-up finishes: a stop asked for meanwhile waits for it, then undoes it.
let stopping = false;
onStopRequested(async () => {
  stopping = true;
  await startup.catch(() => {});
  await app?.close();
  await runtime?.stop();
  // The bench reads the log before it removes the run directory; if it is gone, no one will.
  await rm(process.connected ? dataDir : runDir, { recursive: true, force: true });
});
startup.catch(async (error: unknown) => {
  process.stderr.write(
    `bench server did not start (its embedded PostgreSQL port is BENCH_PG_PORT, a free one by default): ${String((error as Error).stack ?? error)}\n`,
  );
  await runtime?.stop();
  await rm(dataDir, { recursive: true, force: true });
  process.exit(1);
});

async function start(): Promise<void> {
  await mkdir(dataDir);
  await chmod(dataDir, 0o755); // the embedded cluster runs as `postgres` when we are root
  // Signatures are made for KUVERT_PUBLIC_URL's authority, and the load is sent to this address.
  const listenPort = await freePort();
  const config = loadConfig({
    ...process.env,
    KUVERT_ENV: 'development',
    KUVERT_DATA_DIR: dataDir,
    KUVERT_DEMO: 'false',
    KUVERT_PUBLIC_URL: `http://127.0.0.1:${listenPort}`,
    // Ingest is measured with the notification workers idle (as with a separate `kuvert
    // worker`); the bench then asks for a drain and measures that on its own.
    KUVERT_WORKERS: 'false',
    // A free port unless one is asked for: a fixed default collides with any other cluster
    // left on it (another bench, another checkout).
    KUVERT_EMBEDDED_PG_PORT: String(process.env.BENCH_PG_PORT ?? (await freePort())),
    // Warnings only by default (the server's own default is info: two JSON lines per request;
    // BENCH_LOG_LEVEL=info measures what they cost). Logs go to a file, never to the bench.
    LOG_LEVEL: process.env.BENCH_LOG_LEVEL ?? 'warn',
  });
  runtime = await startRuntime(config);
  app = await buildApp(runtime.context);
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
  await app.listen({ port: listenPort, host: '127.0.0.1' });
  const address = app.server.address();
  // One of the pool's PostgreSQL backends: its parent is the postmaster, whose process tree
  // the bench reads for PostgreSQL's CPU time.
  const backend = await sql<{ pid: number }>`select pg_backend_pid() as pid`.execute(db);
  const running = runtime;
  onBenchMessage((message) => {
    if (message.type !== 'drain' || stopping) return;
    drainNotifications(running).catch((error: unknown) => {
      // Most likely a stop under way; the bench sees the exit.
      process.stderr.write(`drain failed: ${String(error)}\n`);
    });
  });
  sendToBench({
    type: 'ready',
    port: typeof address === 'object' && address ? address.port : 0,
    keyId: key.keyId,
    privateJwk,
    nationalId,
    postgresBackendPid: backend.rows[0]?.pid,
    // Threads started after this belong to a pool started on demand (PDF inspection ran in
    // such threads before it moved to child processes): the bench counts them apart.
    threadIdsAtReady: threadIds(process.pid),
  });
}

/** Start the workers on the backlog of notification jobs and report how fast it drains. */
async function drainNotifications({ context }: Runtime) {
  const pending = async () => {
    const row = await sql<{ n: string }>`select count(*)::text as n from pgboss.job
      where name = 'letter.notify' and state in ('created', 'retry', 'active')`.execute(context.db);
    return Number(row.rows[0]?.n ?? 0);
  };
  const backlog = await pending();
  const started = process.hrtime.bigint();
  await context.queue.work(context);
  while ((await pending()) > 0) await new Promise((resolve) => setTimeout(resolve, 100));
  const seconds = Number(process.hrtime.bigint() - started) / 1e9;
  const sent = context.mailSink?.messages().length ?? 0;
  sendToBench({ type: 'drained', drained: backlog, seconds, sinkMessages: sent });
}
