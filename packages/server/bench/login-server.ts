import { chmod, mkdir, rm } from 'node:fs/promises';
import path from 'node:path';
import type { FastifyInstance } from 'fastify';
import { sql } from 'kysely';
import { buildApp } from '../src/app.js';
import { loadConfig } from '../src/config.js';
import { generateSyntheticNationalId } from '../src/mailboxes/national-id.js';
import { createMailbox } from '../src/mailboxes/service.js';
import { type Runtime, startRuntime } from '../src/runtime.js';
import { freePort } from '../test/support/ports.js';
import { threadIds } from './cpu.js';
import { onStopRequested, sendToBench } from './ipc.js';

/**
 * The real Kuvert for the login benchmark, in its own process: embedded PostgreSQL (or
 * DATABASE_URL) in a fresh data directory, and BENCH_ACCOUNTS mailboxes, one per login, so no
 * TOTP code is used twice and no rate limit is reached (every login succeeds). Started by
 * login.ts through children.ts, which made the run directory and removes it.
 */
const runDir = process.env.BENCH_RUN_DIR;
if (!runDir) throw new Error('BENCH_RUN_DIR is not set: run this through bench/login.ts');
const dataDir = path.join(runDir, 'data');
const accountCount = Number(process.env.BENCH_ACCOUNTS ?? 400);
const password = 'a long bench passphrase for logins';

let runtime: Runtime | undefined;
let app: FastifyInstance | undefined;
const startup = start();
let stopping = false;
onStopRequested(async () => {
  stopping = true;
  await startup.catch(() => {});
  await app?.close();
  await runtime?.stop();
  await rm(process.connected ? dataDir : runDir, { recursive: true, force: true });
});
startup.catch(async (error: unknown) => {
  process.stderr.write(`login bench server did not start: ${String((error as Error).stack)}\n`);
  await runtime?.stop();
  await rm(dataDir, { recursive: true, force: true });
  process.exit(1);
});

async function start(): Promise<void> {
  await mkdir(dataDir);
  await chmod(dataDir, 0o755); // the embedded cluster runs as `postgres` when we are root
  const listenPort = await freePort();
  const config = loadConfig({
    ...process.env,
    KUVERT_ENV: 'development',
    KUVERT_DATA_DIR: dataDir,
    KUVERT_DEMO: 'false',
    KUVERT_PUBLIC_URL: `http://127.0.0.1:${listenPort}`,
    KUVERT_WORKERS: 'false',
    KUVERT_ACCEPT_SYNTHETIC_IDS: 'true',
    KUVERT_EMBEDDED_PG_PORT: String(process.env.BENCH_PG_PORT ?? (await freePort())),
    LOG_LEVEL: process.env.BENCH_LOG_LEVEL ?? 'warn',
  });
  runtime = await startRuntime(config);
  app = await buildApp(runtime.context);
  const { db, keys } = runtime.context;
  // A few at a time: each is one argon2id hash, and the pool has few threads anyway.
  const accounts: Array<{ nationalId: string; totpSecret: string }> = [];
  const taken = new Set<string>();
  for (let offset = 0; offset < accountCount && !stopping; offset += 8) {
    const batch = Array.from({ length: Math.min(8, accountCount - offset) }, () => {
      let nationalId = generateSyntheticNationalId();
      while (taken.has(nationalId)) nationalId = generateSyntheticNationalId();
      taken.add(nationalId);
      return nationalId;
    });
    const created = await Promise.all(
      batch.map((nationalId) =>
        createMailbox({
          db,
          keys,
          nationalId,
          language: 'nb',
          password,
          acceptSynthetic: true,
          actor: 'bench',
        }).then((mailbox) => ({ nationalId, totpSecret: mailbox.totpSecret })),
      ),
    );
    accounts.push(...created);
  }
  await app.listen({ port: listenPort, host: '127.0.0.1' });
  const address = app.server.address();
  const backend = await sql<{ pid: number }>`select pg_backend_pid() as pid`.execute(db);
  sendToBench({
    type: 'ready',
    port: typeof address === 'object' && address ? address.port : 0,
    password,
    accounts,
    postgresBackendPid: backend.rows[0]?.pid,
    threadIdsAtReady: threadIds(process.pid),
  });
}
