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
 * Target: logins ≥ 0.8 of the raw argon2id rate. Raw and login runs
 * alternate (BENCH_ROUNDS times), each login run compared with the raw runs just before and
 * after it, and the median of those ratios is reported: on a shared machine the rate of either
 * moves by a factor of two within a minute. CPU per login comes from the kernel's accounting of
 * the server process, its PostgreSQL cluster and this load generator, and gives the steadier
 * figure: raw argon2id CPU per verification over the whole CPU of a login.
 */
const logins = Number(process.env.BENCH_LOGINS ?? 200);
/** Raw and login measurements alternate this many times; the median ratio is reported. */
const rounds = Number(process.env.BENCH_ROUNDS ?? 3);
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
  const total = rounds * logins + warmUp;
  log(`starting Kuvert with ${total} accounts …`);
  const kuvert = await startChild<LoginReady>('./login-server.ts', {
    BENCH_ACCOUNTS: String(total),
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

  // Warm-up: JIT, connection pool.
  const warm = await runLoad({
    port,
    requests: loginRequests(accounts.slice(0, warmUp), password),
    concurrency,
    expectStatus: 200,
  });
  if (warm.errors > 0) throw new Error(`warm-up logins failed: ${JSON.stringify(warm.statuses)}`);

  const raws = [await rawArgon2(storedHash, password, Math.ceil(logins / 2))];
  const runs: Array<{
    perSecond: number;
    p50Ms: number;
    p99Ms: number;
    cpu: Record<keyof typeof meters, CpuTimes>;
    requests: number;
  }> = [];
  for (let round = 0; round < rounds; round++) {
    const start = warmUp + round * logins;
    const { result, cpu } = await measureCpu(meters, () =>
      runLoad({
        port,
        // Made just before sending: a code is good for the current and the next 30 s step.
        requests: loginRequests(accounts.slice(start, start + logins), password),
        concurrency,
        expectStatus: 200,
      }),
    );
    if (result.errors > 0) throw new Error(`logins failed: ${JSON.stringify(result.statuses)}`);
    runs.push({ ...result, cpu });
    raws.push(await rawArgon2(storedHash, password, Math.ceil(logins / 2)));
  }
  await kuvert.stop();

  const ratios = runs.map(
    (run, index) => run.perSecond / ((raws[index]!.perSecond + raws[index + 1]!.perSecond) / 2),
  );
  const ratio = median(ratios);
  const sum = (pick: (run: (typeof runs)[number]) => CpuTimes) =>
    runs.reduce((ms, run) => ms + totalMs(pick(run)), 0) /
    runs.reduce((n, run) => n + run.requests, 0);
  const cpuPer = {
    server: sum((run) => run.cpu.server),
    serverMain: sum((run) => run.cpu.serverMain),
    postgres: sum((run) => run.cpu.postgres),
    load: sum((run) => run.cpu.load),
  };
  const loginCpu = cpuPer.server + cpuPer.postgres + cpuPer.load;
  const rawCpu = median(raws.map((raw) => raw.cpuMsPer));
  log('');
  log(
    `raw argon2id verify (${raws[0]!.inFlight} in flight): ${raws.map((raw) => raw.perSecond.toFixed(1)).join(', ')} /s; CPU ${rawCpu.toFixed(1)} ms per verification (median)`,
  );
  log(
    `logins (POST /api/session, ${concurrency} clients): ${runs.map((run) => run.perSecond.toFixed(1)).join(', ')} /s; p50 ${median(runs.map((run) => run.p50Ms)).toFixed(0)} ms, p99 ${median(runs.map((run) => run.p99Ms)).toFixed(0)} ms`,
  );
  log(
    `CPU per login: server ${cpuPer.server.toFixed(1)} ms (event-loop thread ${cpuPer.serverMain.toFixed(1)} ms)${postmaster ? `, PostgreSQL ${cpuPer.postgres.toFixed(1)} ms` : ''}, load generator ${cpuPer.load.toFixed(1)} ms; total ${loginCpu.toFixed(1)} ms`,
  );
  log(
    `ratio logins / raw argon2id: ${ratios.map((r) => r.toFixed(2)).join(', ')}; median ${ratio.toFixed(2)} (target ≥ ${target}) ${ratio >= target ? 'met' : 'NOT met'}`,
  );
  log(
    `ratio by CPU (raw verification / whole login): ${(rawCpu / loginCpu).toFixed(2)}; without the load generator ${(rawCpu / (cpuPer.server + cpuPer.postgres)).toFixed(2)}`,
  );
}

function median(values: number[]): number {
  const sorted = [...values].sort((a, b) => a - b);
  const middle = Math.floor(sorted.length / 2);
  return sorted.length % 2 === 1 ? sorted[middle]! : (sorted[middle - 1]! + sorted[middle]!) / 2;
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
