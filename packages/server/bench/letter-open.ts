import { spawn } from 'node:child_process';
import { readFileSync } from 'node:fs';
import http from 'node:http';
import { availableParallelism } from 'node:os';
import { createInterface } from 'node:readline';

/**
 * Letter opens per second: GET /api/letters/:id/documents/:documentId/content with a session,
 * the route a recipient opens a letter with (session check, document lookup, blob read,
 * decryption, and the `letter.opened` audit entry in its own committed transaction), beside the
 * same server with the audit append switched off (bench-only module swap, without-audit.ts).
 * Rounds alternate between the two so that drift of the shared machine hits both alike.
 * Target: with audit ≥ 0.8 × without.
 *
 *     node --import tsx packages/server/bench/letter-open.ts
 *
 * BENCH_OPENS (requests per round, 3000), BENCH_ROUNDS (5), BENCH_RECIPIENTS (50; 1 puts every
 * entry in one chain), BENCH_CONCURRENCY (16), BENCH_PG_PORT (54396 and the next port).
 */
const opensPerRound = Number(process.env.BENCH_OPENS ?? 3000);
const rounds = Number(process.env.BENCH_ROUNDS ?? 5);
const concurrency = Number(process.env.BENCH_CONCURRENCY ?? 16);
// Not ingest.ts's 54399, so the two benches can run side by side.
const pgPort = Number(process.env.BENCH_PG_PORT ?? 54396);

interface Server {
  /** The server process: it, its PostgreSQL cluster and the cluster's backends are what is measured. */
  pid: number;
  port: number;
  targets: Array<{ cookie: string; path: string }>;
  stop(): Promise<void>;
}

async function startServer(audit: 'on' | 'off', port: number): Promise<Server> {
  const script = new URL('./letter-open-server.ts', import.meta.url).pathname;
  const hook = new URL('./without-audit.ts', import.meta.url).pathname;
  const child = spawn(
    process.execPath,
    ['--import', 'tsx', ...(audit === 'off' ? ['--import', hook] : []), script],
    { stdio: ['ignore', 'pipe', 'inherit'], env: { ...process.env, BENCH_PG_PORT: String(port) } },
  );
  // The server's log lines go to stdout too; its answer is the line with the targets.
  const info = await new Promise<Omit<Server, 'stop'>>((resolve, reject) => {
    createInterface({ input: child.stdout! }).on('line', (line) => {
      if (line.startsWith('{"port"')) resolve(JSON.parse(line));
      else process.stderr.write(`letter-open-server (audit ${audit}): ${line}\n`);
    });
    child.once('exit', (code) => reject(new Error(`letter-open-server exited with ${code}`)));
  });
  return {
    ...info,
    pid: child.pid!,
    stop: () =>
      new Promise<void>((resolve) => {
        child.once('exit', () => resolve());
        child.kill('SIGTERM');
      }),
  };
}

interface Round {
  /** CPU time of the server and its database per letter opened, in ms: what other load on the machine does not change. */
  cpuMsPerOpen: number;
  perSecond: number;
  p50Ms: number;
  p99Ms: number;
  errors: number;
}

/** A closed loop of `concurrency` keep-alive clients, each opening the next recipient's letter. */
/** CPU seconds used so far by a process and all its descendants (Linux /proc). */
function treeCpuSeconds(pid: number): number {
  const ticksPerSecond = 100; // USER_HZ on Linux
  let total = 0;
  const visit = (id: number) => {
    try {
      const stat = readFileSync(`/proc/${id}/stat`, 'utf8');
      const fields = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
      total += (Number(fields[11]) + Number(fields[12])) / ticksPerSecond; // utime, stime
      const children = readFileSync(`/proc/${id}/task/${id}/children`, 'utf8').trim();
      for (const child of children ? children.split(' ') : []) visit(Number(child));
    } catch {
      // A backend that ended meanwhile.
    }
  };
  visit(pid);
  return total;
}

async function openLetters(server: Server, count: number): Promise<Round> {
  const cpuBefore = treeCpuSeconds(server.pid);
  const agent = new http.Agent({ keepAlive: true, maxSockets: concurrency });
  const latencies: number[] = [];
  let next = 0;
  let errors = 0;
  const client = async () => {
    while (next < count) {
      const target = server.targets[next++ % server.targets.length]!;
      const sent = process.hrtime.bigint();
      const status = await get(agent, server.port, target).catch(() => 0);
      latencies.push(Number(process.hrtime.bigint() - sent) / 1e6);
      if (status !== 200) errors++;
    }
  };
  const started = process.hrtime.bigint();
  await Promise.all(Array.from({ length: concurrency }, client));
  const seconds = Number(process.hrtime.bigint() - started) / 1e9;
  agent.destroy();
  latencies.sort((a, b) => a - b);
  const at = (q: number) =>
    latencies[Math.min(latencies.length - 1, Math.floor(q * latencies.length))]!;
  const cpuMsPerOpen = ((treeCpuSeconds(server.pid) - cpuBefore) * 1000) / count;
  return { cpuMsPerOpen, perSecond: count / seconds, p50Ms: at(0.5), p99Ms: at(0.99), errors };
}

function get(
  agent: http.Agent,
  port: number,
  target: { cookie: string; path: string },
): Promise<number> {
  return new Promise((resolve, reject) => {
    const request = http.get(
      { host: '127.0.0.1', port, path: target.path, headers: { cookie: target.cookie }, agent },
      (response) => {
        response.resume();
        response.on('end', () => resolve(response.statusCode ?? 0));
        response.on('error', reject);
      },
    );
    request.on('error', reject);
  });
}

const median = (values: number[]) =>
  [...values].sort((a, b) => a - b)[Math.floor(values.length / 2)]!;
const fmt = (value: number) => value.toFixed(value < 100 ? 1 : 0);

const recipients = Number(process.env.BENCH_RECIPIENTS ?? 50);
process.stdout.write(
  `letter opens: ${opensPerRound} per round, ${rounds} rounds each, concurrency ${concurrency}, ${recipients} recipients, ${availableParallelism()} cores\n`,
);
const servers: Server[] = [];
try {
  const withAudit = await startServer('on', pgPort);
  servers.push(withAudit);
  const withoutAudit = await startServer('off', pgPort + 1);
  servers.push(withoutAudit);
  const results: Record<'on' | 'off', Round[]> = { on: [], off: [] };
  // Warm-up: JIT, connection pools, the blob store's page cache.
  await openLetters(withAudit, 500);
  await openLetters(withoutAudit, 500);
  for (let round = 0; round < rounds; round++) {
    for (const [name, server] of [
      ['on', withAudit],
      ['off', withoutAudit],
    ] as const) {
      const result = await openLetters(server, opensPerRound);
      results[name].push(result);
      process.stdout.write(
        `  round ${round + 1}, audit ${name}: ${fmt(result.perSecond)}/s, CPU ${result.cpuMsPerOpen.toFixed(2)} ms/open, p50 ${result.p50Ms.toFixed(1)} ms, p99 ${result.p99Ms.toFixed(1)} ms, errors ${result.errors}\n`,
      );
    }
  }
  const summary = (name: 'on' | 'off') => ({
    perSecond: median(results[name].map((round) => round.perSecond)),
    cpuMsPerOpen: median(results[name].map((round) => round.cpuMsPerOpen)),
    p99Ms: median(results[name].map((round) => round.p99Ms)),
    errors: results[name].reduce((sum, round) => sum + round.errors, 0),
  });
  const on = summary('on');
  const off = summary('off');
  const ratio = on.perSecond / off.perSecond;
  // Opens per CPU-second of server and database: the rate each would reach on cores of its own.
  const capacityRatio = off.cpuMsPerOpen / on.cpuMsPerOpen;
  process.stdout.write(
    `\n| route | opens/s (median of ${rounds}) | p99 | CPU per open (server + PostgreSQL) | errors |\n| --- | ---: | ---: | ---: | ---: |\n` +
      `| letter open, audit entry on | ${fmt(on.perSecond)} | ${on.p99Ms.toFixed(1)} ms | ${on.cpuMsPerOpen.toFixed(2)} ms | ${on.errors} |\n` +
      `| letter open, audit off (bench only) | ${fmt(off.perSecond)} | ${off.p99Ms.toFixed(1)} ms | ${off.cpuMsPerOpen.toFixed(2)} ms | ${off.errors} |\n` +
      `\nratio audit on / off, opens/s: ${ratio.toFixed(2)}; by CPU per open: ${capacityRatio.toFixed(2)} (target ≥ 0.8)${ratio >= 0.8 ? '' : ' — opens/s BELOW TARGET'}\n`,
  );
  if (on.errors + off.errors > 0) process.exitCode = 1;
} finally {
  for (const server of servers) await server.stop();
}
