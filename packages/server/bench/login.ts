import { availableParallelism } from 'node:os';
import { hash, verify } from '@node-rs/argon2';
import { passwordHashOptions } from '../src/mailboxes/service.js';
import { currentTotp } from '../test/support/factories.js';
import { cleanUpOnInterrupt, isInterrupted, runCleanups, startChild } from './children.js';
import {
  type CpuTimes,
  isRunning,
  measureCpu,
  ownCpu,
  parentOf,
  processMeters,
  totalMs,
  treeCpu,
} from './cpu.js';
import { type PreparedRequest, runLoad } from './load.js';

/**
 * `node --import tsx packages/server/bench/login.ts`: logins per second through the real
 * `POST /api/session` (argon2id verification, TOTP check and claim, rate-limit rows, session
 * insert, audit entry, device cookie), beside raw argon2id verification with the same
 * parameters on all cores, measured in the same run on the same machine. Every login is of
 * its own account, so no TOTP code is used twice and no throttle is reached.
 *
 * Target (issue 7, item 10): logins ≥ 0.8 of the raw argon2id rate. The raw rate is measured
 * before and after the logins and averaged, so a machine that slows down in between (shared
 * cores) does not flatter either side. CPU per login comes from the kernel's accounting of
 * the server process, its PostgreSQL cluster and this load generator.
 */
const logins = Number(process.env.BENCH_LOGINS ?? 300);
const warmUp = 20;
const concurrency = Number(process.env.BENCH_LOGIN_CONCURRENCY ?? 8);
const cores = availableParallelism();
const target = 0.8;

interface LoginReady {
  port: number;
  password: string;
  accounts: Array<{ nationalId: string; totpSecret: string }>;
  postgresBackendPid?: number;
  threadIdsAtReady: number[];
}

cleanUpOnInterrupt();
try {
  await main();
  if (isInterrupted()) await new Promise(() => {});
  await runCleanups();
  process.exit(0);
} catch (error) {
  if (isInterrupted()) await new Promise(() => {});
  process.stderr.write(`\nlogin bench failed: ${(error as Error).stack ?? String(error)}\n`);
  await runCleanups();
  process.exit(1);
}

async function main(): Promise<void> {
  const { memoryCost, timeCost, parallelism } = passwordHashOptions;
  log(
    `argon2id m=${memoryCost} KiB t=${timeCost} p=${parallelism}; ${logins} logins at concurrency ${concurrency}; ${cores} cores; Node ${process.version}`,
  );
  log(`starting Kuvert with ${logins + warmUp} accounts …`);
  const kuvert = await startChild<LoginReady>('./login-server.ts', {
    BENCH_ACCOUNTS: String(logins + warmUp),
  });
  const { port, password, accounts } = kuvert.ready;
  const postmaster = findPostmaster(kuvert.ready.postgresBackendPid);
  const server = processMeters(
    kuvert.pid,
    kuvert.ready.threadIdsAtReady,
    postmaster ? [postmaster] : [],
  );
  const meters = {
    server: server.tree,
    serverMain: server.main,
    postgres: () => (postmaster ? treeCpu(postmaster) : { userMs: 0, systemMs: 0 }),
    load: ownCpu,
  };

  const storedHash = await hash(password, passwordHashOptions);
  const rawBefore = await rawArgon2(storedHash, password, Math.ceil(logins / 2));

  // Warm-up: JIT, connection pool, the dummy hash.
  const warm = await runLoad({
    port,
    requests: loginRequests(accounts.slice(0, warmUp), password),
    concurrency,
    expectStatus: 200,
  });
  if (warm.errors > 0) throw new Error(`warm-up logins failed: ${JSON.stringify(warm.statuses)}`);

  const { result, cpu } = await measureCpu(meters, () =>
    runLoad({
      port,
      // Made just before sending: a code is good for the current and the next 30 s step.
      requests: loginRequests(accounts.slice(warmUp), password),
      concurrency,
      expectStatus: 200,
    }),
  );
  if (result.errors > 0) throw new Error(`logins failed: ${JSON.stringify(result.statuses)}`);
  const rawAfter = await rawArgon2(storedHash, password, Math.ceil(logins / 2));
  await kuvert.stop();

  const raw = (rawBefore.perSecond + rawAfter.perSecond) / 2;
  const ratio = result.perSecond / raw;
  const per = (times: CpuTimes) => totalMs(times) / result.requests;
  log('');
  log(
    `raw argon2id verify, ${rawBefore.inFlight} in flight: ${rawBefore.perSecond.toFixed(1)}/s before, ${rawAfter.perSecond.toFixed(1)}/s after; CPU ${rawBefore.cpuMsPer.toFixed(1)} ms per verification`,
  );
  log(
    `logins (POST /api/session): ${result.perSecond.toFixed(1)}/s, p50 ${result.p50Ms.toFixed(0)} ms, p99 ${result.p99Ms.toFixed(0)} ms`,
  );
  log(
    `CPU per login: server ${per(cpu.server).toFixed(1)} ms (event-loop thread ${per(cpu.serverMain).toFixed(1)} ms)${postmaster ? `, PostgreSQL ${per(cpu.postgres).toFixed(1)} ms` : ''}, load generator ${per(cpu.load).toFixed(1)} ms; total ${(per(cpu.server) + per(cpu.postgres) + per(cpu.load)).toFixed(1)} ms`,
  );
  log(
    `ratio logins / raw argon2id: ${ratio.toFixed(2)} (target ≥ ${target}) ${ratio >= target ? 'met' : 'NOT met'}`,
  );
}

/** Verifications of one hash with the library's async API, enough in flight for every core. */
async function rawArgon2(
  storedHash: string,
  password: string,
  count: number,
): Promise<{ perSecond: number; cpuMsPer: number; inFlight: number }> {
  const inFlight = cores * 2;
  let next = 0;
  const worker = async () => {
    while (next < count) {
      next++;
      if (!(await verify(storedHash, password))) throw new Error('argon2 verify failed');
    }
  };
  const started = process.hrtime.bigint();
  const { cpu } = await measureCpu({ own: ownCpu }, () =>
    Promise.all(Array.from({ length: inFlight }, worker)),
  );
  const seconds = Number(process.hrtime.bigint() - started) / 1e9;
  return { perSecond: count / seconds, cpuMsPer: totalMs(cpu.own) / count, inFlight };
}

function loginRequests(accounts: LoginReady['accounts'], password: string): PreparedRequest[] {
  return accounts.map((account) => ({
    method: 'POST',
    path: '/api/session',
    headers: { 'content-type': 'application/json' },
    body: Buffer.from(
      JSON.stringify({
        nationalId: account.nationalId,
        password,
        totp: currentTotp(account.totpSecret),
      }),
    ),
  }));
}

function findPostmaster(backendPid: number | undefined): number | undefined {
  return backendPid && isRunning(backendPid) ? parentOf(backendPid) : undefined;
}

function log(line: string): void {
  if (!isInterrupted()) process.stdout.write(`${line}\n`);
}
