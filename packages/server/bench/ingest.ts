import type { JsonWebKey } from 'node:crypto';
import { createPublicKey, randomUUID } from 'node:crypto';
import { open, stat } from 'node:fs/promises';
import { availableParallelism, tmpdir } from 'node:os';
import path from 'node:path';
import { encodeLetterForm, generateSenderKey, type SenderKey, signRequest } from '@kuvert/sdk';
import { sealDocument } from '../src/documents/envelope.js';
import type { MasterKeys } from '../src/documents/master-keys.js';
import { createPdfInspector } from '../src/documents/pdf-inspection.js';
import { readSubmission } from '../src/letters/service.js';
import { refuseUnlessBodyMatches, verifySignedRequest } from '../src/senders/http-signatures.js';
import { buildPdf } from '../test/support/pdfs.js';
import {
  type BenchChild,
  cleanUpOnInterrupt,
  isInterrupted,
  runCleanups,
  startChild,
  temporaryDirectory,
} from './children.js';
import {
  type CpuSplit,
  type CpuTimes,
  isRunning,
  measureCpu,
  ownCpu,
  parentOf,
  processMeters,
  splitCpu,
  threadIds,
  totalMs,
  treeCpu,
} from './cpu.js';
import { type PreparedRequest, runLoad } from './load.js';

/**
 * `npm run bench`: letter ingest through the real HTTP API with signing, beside baselines
 * measured in the same run on the same machine:
 *   1. a bare Fastify route accepting the same body (the HTTP floor),
 *   2. the per-letter work alone on all cores (PDF inspection, signature and digest check,
 *      multipart parsing, encryption) without HTTP or database,
 *   3. durable 100 KB writes (write + fsync) at the same concurrency.
 * Each figure comes with the CPU time it cost, from the kernel's accounting of each process:
 * the server, its PostgreSQL cluster, and the load generator (this process). Throughput
 * depends on the machine; CPU per letter much less (see docs/benchmarks.md).
 * Target: ingest ≥ half of the lower of baselines 2 and 3.
 */
const lettersPerRun = Number(process.env.BENCH_LETTERS ?? 1500);
const concurrencies = [8, 32];
/** Which measurements to run (all by default): ingest,drain,bare,work,fsync (drain needs ingest). */
const stages = new Set((process.env.BENCH_STAGES ?? 'ingest,drain,bare,work,fsync').split(','));
const host = '127.0.0.1';
const cores = availableParallelism();

/** CPU milliseconds per item (letter, request, write or email) of each party. */
interface CpuPerItem {
  server?: number;
  postgres?: number;
  /** The notification workers: idle during ingest, measured in the drain. */
  workers?: number | 'idle';
  load?: number;
}

interface Row {
  name: string;
  concurrency: number | string;
  perSecond: number;
  p99Ms?: number;
  errors?: number;
  cpu: CpuPerItem;
}

/** Where the CPU of one column of the efficiency table went, in milliseconds per letter. */
interface Efficiency {
  label: string;
  split: CpuSplit;
  letters: number;
  postgres?: CpuTimes;
  load?: CpuTimes;
  perSecond?: number;
  /** CPU of the bare Fastify route per request at the same concurrency, when measured. */
  httpFloorMs?: number;
}

interface WorkBreakdown {
  verifyMs: number;
  parseMs: number;
  inspectMs: number;
  sealMs: number;
}

const rows: Row[] = [];
const efficiency: Efficiency[] = [];
let workCpuMs = Number.NaN;
let workBreakdown: WorkBreakdown | undefined;
let postgresNote = '';

const pdf = Buffer.from(
  await buildPdf({ pages: 3, targetBytes: 100 * 1024, text: 'Kuvert benchmark letter' }),
);

cleanUpOnInterrupt();
try {
  await main();
  if (isInterrupted()) await new Promise(() => {}); // the signal handler exits
  await runCleanups();
  process.exit(0);
} catch (error) {
  // After Ctrl-C the servers are being stopped under the running load: failures are expected,
  // and the signal handler cleans up and exits.
  if (isInterrupted()) await new Promise(() => {});
  process.stderr.write(`\nbench failed: ${(error as Error).stack ?? String(error)}\n`);
  await runCleanups();
  process.exit(1);
}

async function main() {
  log(
    `document: ${pdf.length} bytes, 3 pages; ${lettersPerRun} letters per run; ${cores} cores; Node ${process.version}`,
  );
  const benchKey = generateSenderKey('ed25519');
  let key: SenderKey = {
    keyId: benchKey.privateJwk.kid!,
    algorithm: 'ed25519',
    privateKey: benchKey.privateJwk,
  };
  let nationalId = '01010112345';
  if (stages.has('ingest')) ({ key, nationalId } = await benchIngest());
  if (stages.has('bare')) await benchBareRoute(key, nationalId);
  const work = stages.has('work') ? await benchPerLetterWork(key, nationalId) : Number.NaN;
  const durable: Record<number, number> = {};
  if (stages.has('fsync')) {
    for (const concurrency of concurrencies) {
      durable[concurrency] = await benchDurableWrites(concurrency, lettersPerRun);
    }
  }
  printSummary(work, durable);
}

interface KuvertReady {
  port: number;
  keyId: string;
  privateJwk: JsonWebKey;
  nationalId: string;
  postgresBackendPid?: number;
  threadIdsAtReady: number[];
}

/** Ingest through the real API, then the notification drain, with the CPU of every party. */
async function benchIngest(): Promise<{ key: SenderKey; nationalId: string }> {
  const kuvert = await startChild<KuvertReady>('./kuvert-server.ts');
  const { port, nationalId } = kuvert.ready;
  const key: SenderKey = {
    keyId: kuvert.ready.keyId,
    algorithm: 'ed25519',
    privateKey: kuvert.ready.privateJwk,
  };
  const postmaster = findPostmaster(kuvert.pid, kuvert.ready.postgresBackendPid);
  const server = processMeters(
    kuvert.pid,
    kuvert.ready.threadIdsAtReady,
    postmaster ? [postmaster] : [],
  );
  const meters = {
    ...server,
    postgres: () => (postmaster ? treeCpu(postmaster) : { userMs: 0, systemMs: 0 }),
    load: ownCpu,
  };

  for (const { concurrency, result, cpu } of await measureLetterLoad({
    port,
    key,
    nationalId,
    meters,
  })) {
    const per = perItem(result.requests);
    const row: Row = {
      name: 'ingest (Kuvert API)',
      concurrency,
      perSecond: result.perSecond,
      p99Ms: result.p99Ms,
      errors: result.errors,
      cpu: {
        server: per(cpu.tree),
        postgres: postmaster ? per(cpu.postgres) : undefined,
        workers: 'idle',
        load: per(cpu.load),
      },
    };
    rows.push(row);
    efficiency.push({
      label: `ingest c=${concurrency}`,
      split: splitCpu(cpu),
      letters: result.requests,
      postgres: postmaster ? cpu.postgres : undefined,
      load: cpu.load,
      perSecond: result.perSecond,
    });
    log(
      `ingest c=${concurrency}: ${fmt(result.perSecond)} letters/s, p50 ${result.p50Ms.toFixed(1)} ms, p99 ${result.p99Ms.toFixed(1)} ms, statuses ${JSON.stringify(result.statuses)}; ${describeCpu(row.cpu)} per letter`,
    );
  }

  if (stages.has('drain')) await benchDrain(kuvert, meters, postmaster !== undefined);
  await kuvert.stop();
  return { key, nationalId };
}

/** The notifications the ingest runs queued, sent by the workers over SMTP to the mail sink. */
async function benchDrain(
  kuvert: BenchChild<KuvertReady>,
  meters: Record<'tree' | 'postgres', () => CpuTimes>,
  postgresMeasured: boolean,
): Promise<void> {
  const { result: drain, cpu } = await measureCpu(meters, () =>
    kuvert.ask<{ drained: number; seconds: number; sinkMessages: number }>({ type: 'drain' }),
  );
  const per = perItem(drain.drained);
  const row: Row = {
    name: 'notification email drain (pg-boss → SMTP)',
    concurrency: 'workers',
    perSecond: drain.drained / drain.seconds,
    cpu: { workers: per(cpu.tree), postgres: postgresMeasured ? per(cpu.postgres) : undefined },
  };
  rows.push(row);
  log(
    `notifications: ${drain.drained} sent in ${drain.seconds.toFixed(1)} s = ${fmt(row.perSecond)} emails/s (the sink keeps the last ${drain.sinkMessages}); ${describeCpu(row.cpu)} per email`,
  );
}

/**
 * The postmaster is the parent of any backend. Usually it is the server's embedded cluster (a
 * child of the server process); with DATABASE_URL it may be a cluster shared with other work,
 * or on another machine (then PostgreSQL's CPU is not measured).
 */
function findPostmaster(serverPid: number, backendPid: number | undefined): number | undefined {
  const postmaster = backendPid && isRunning(backendPid) ? parentOf(backendPid) : undefined;
  if (!postmaster) {
    postgresNote = 'PostgreSQL is not on this machine (DATABASE_URL): its CPU is not measured.';
    return undefined;
  }
  if (parentOf(postmaster) !== serverPid) {
    postgresNote =
      'PostgreSQL is a cluster of its own (DATABASE_URL): its CPU includes whatever else it serves.';
  }
  return postmaster;
}

/**
 * Signed letters sent to `port`: a warm-up (JIT, connection pools, inspection processes), then
 * one measured run per concurrency, each with the CPU of every meter over exactly that run.
 */
async function measureLetterLoad<Name extends string>(options: {
  port: number;
  key: SenderKey;
  nationalId: string;
  meters: Record<Name, () => CpuTimes>;
}) {
  const { port, key, nationalId, meters } = options;
  await runLoad({
    port,
    requests: prepareLetters({ key, nationalId, port, count: 100 }),
    concurrency: 8,
    expectStatus: 201,
  });
  const runs = [];
  for (const concurrency of concurrencies) {
    const requests = prepareLetters({ key, nationalId, port, count: lettersPerRun });
    const measured = await measureCpu(meters, () =>
      runLoad({ port, requests, concurrency, expectStatus: 201 }),
    );
    runs.push({ concurrency, ...measured });
  }
  return runs;
}

/** Baseline 1: a bare Fastify route reading the same body. */
async function benchBareRoute(key: SenderKey, nationalId: string): Promise<void> {
  const bare = await startChild<{ port: number }>('./bare-server.ts');
  const { port } = bare.ready;
  const meters = { server: () => treeCpu(bare.pid), load: ownCpu };
  for (const { concurrency, result, cpu } of await measureLetterLoad({
    port,
    key,
    nationalId,
    meters,
  })) {
    const per = perItem(result.requests);
    const row: Row = {
      name: 'baseline: bare Fastify route',
      concurrency,
      perSecond: result.perSecond,
      p99Ms: result.p99Ms,
      errors: result.errors,
      cpu: { server: per(cpu.server), load: per(cpu.load) },
    };
    rows.push(row);
    const ingest = efficiency.find((column) => column.label === `ingest c=${concurrency}`);
    if (ingest) ingest.httpFloorMs = row.cpu.server;
    log(
      `bare Fastify route c=${concurrency}: ${fmt(result.perSecond)} requests/s, p99 ${result.p99Ms.toFixed(1)} ms; ${describeCpu(row.cpu)} per request`,
    );
  }
  await bare.stop();
}

/**
 * Baseline 2: the per-letter work alone, on all cores, 32 letters in flight; then each step
 * alone to see what it is made of. CPU is this process's and its children's (should PDF
 * inspection run in child processes), all threads.
 */
async function benchPerLetterWork(key: SenderKey, nationalId: string): Promise<number> {
  await stat(tmpdir()); // libuv starts its whole thread pool on first use: before the listing
  const bootThreads = threadIds(process.pid);
  const inspector = createPdfInspector({ processes: cores });
  try {
    const masterKeys: MasterKeys = {
      currentVersion: 1,
      keys: new Map([[1, Buffer.alloc(32, 7)]]),
      lookupKey: Buffer.alloc(32, 9),
    };
    const publicJwk = createPublicKey({ key: key.privateKey as JsonWebKey, format: 'jwk' }).export({
      format: 'jwk',
    });
    const port = 8080;
    const letters = prepareLetters({ key, nationalId, port, count: lettersPerRun });
    const verify = async (request: PreparedRequest) => {
      const verified = await verifySignedRequest({
        method: 'POST',
        authority: `${host}:${port}`,
        path: request.path,
        query: '',
        headers: Object.fromEntries(
          Object.entries(request.headers).map(([name, value]) => [name.toLowerCase(), value]),
        ),
        hasBody: true,
        now: new Date(),
        findKey: async (keyId) => ({
          keyId,
          senderId: 'bench',
          algorithm: 'ed25519',
          publicKey: publicJwk,
        }),
        nonceUsed: async () => false,
      });
      // The server checks the digest as the body streams in; here it is all there at once.
      verified.body?.update(request.body);
      if (verified.body) refuseUnlessBodyMatches(verified.body);
    };
    const parse = (request: PreparedRequest) =>
      readSubmission(request.body, request.headers['content-type']);
    const seal = (bytes: Buffer) =>
      sealDocument({
        plaintext: bytes,
        letterId: randomUUID(),
        documentId: randomUUID(),
        masterKeys,
      });
    const one = async (request: PreparedRequest) => {
      await verify(request);
      const submission = parse(request);
      await inspector.inspect(submission.document.bytes);
      seal(submission.document.bytes);
    };
    const meters = processMeters(process.pid, bootThreads);
    const inParallel = async (count: number, each: (index: number) => Promise<unknown>) => {
      let next = 0;
      await Promise.all(
        Array.from({ length: count }, async () => {
          while (next < letters.length) await each(next++);
        }),
      );
    };

    for (const letter of letters.slice(0, 50)) await one(letter); // warm-up
    const started = process.hrtime.bigint();
    const { cpu } = await measureCpu(meters, () => inParallel(32, (index) => one(letters[index]!)));
    const seconds = Number(process.hrtime.bigint() - started) / 1e9;
    const perSecond = letters.length / seconds;
    const per = perItem(letters.length);
    workCpuMs = per(cpu.tree);
    efficiency.unshift({ label: 'per-letter work', split: splitCpu(cpu), letters: letters.length });

    // Each step alone, over the same letters.
    const submissions = letters.map(parse);
    const step = async (run: () => Promise<unknown>) =>
      per((await measureCpu({ tree: meters.tree }, run)).cpu.tree);
    workBreakdown = {
      verifyMs: await step(async () => {
        for (const letter of letters) await verify(letter);
      }),
      parseMs: await step(async () => {
        for (const letter of letters) parse(letter);
      }),
      inspectMs: await step(() =>
        inParallel(32, (index) => inspector.inspect(submissions[index]!.document.bytes)),
      ),
      sealMs: await step(async () => {
        for (const submission of submissions) seal(submission.document.bytes);
      }),
    };
    rows.push({
      name: 'baseline: per-letter work, all cores',
      concurrency: 'all cores',
      perSecond,
      cpu: { server: workCpuMs },
    });
    log(
      `per-letter work: ${fmt(perSecond)} letters/s; ${ms(workCpuMs)} ms CPU per letter (each step alone: signature + digest ${ms(workBreakdown.verifyMs)}, multipart ${ms(workBreakdown.parseMs)}, PDF inspection ${ms(workBreakdown.inspectMs)}, encryption ${ms(workBreakdown.sealMs)})`,
    );
    return perSecond;
  } finally {
    await inspector.close();
  }
}

/** Baseline 3: durable 100 KB writes at the same concurrency. */
async function benchDurableWrites(concurrency: number, count: number): Promise<number> {
  const { dir, remove } = await temporaryDirectory('kuvert-bench-fsync-');
  try {
    const payload = Buffer.alloc(100 * 1024, 1);
    let next = 0;
    const started = process.hrtime.bigint();
    const { cpu } = await measureCpu({ self: ownCpu }, () =>
      Promise.all(
        Array.from({ length: concurrency }, async () => {
          while (next < count) {
            const file = await open(path.join(dir, String(next++)), 'wx', 0o600);
            await file.write(payload);
            await file.sync();
            await file.close();
          }
        }),
      ),
    );
    const perSecond = count / (Number(process.hrtime.bigint() - started) / 1e9);
    const row: Row = {
      name: 'baseline: durable 100 KB writes (write + fsync)',
      concurrency,
      perSecond,
      cpu: { server: perItem(count)(cpu.self) },
    };
    rows.push(row);
    log(
      `durable writes c=${concurrency}: ${fmt(perSecond)} writes/s; ${ms(row.cpu.server!)} ms CPU per write`,
    );
    return perSecond;
  } finally {
    await remove();
  }
}

function prepareLetters(options: {
  key: SenderKey;
  nationalId: string;
  port: number;
  count: number;
}): PreparedRequest[] {
  // Signed before the clock starts (valid for 300 s), so the client's own crypto is not measured.
  return Array.from({ length: options.count }, () => {
    const form = encodeLetterForm({
      messageId: randomUUID(),
      recipient: { nationalId: options.nationalId },
      subject: 'Benchmark letter',
      document: { filename: 'letter.pdf', bytes: pdf },
    });
    const headers: Record<string, string> = { 'content-type': form.contentType };
    Object.assign(
      headers,
      signRequest({
        method: 'POST',
        url: `http://${host}:${options.port}/api/v1/letters`,
        headers,
        body: form.bytes,
        key: options.key,
      }),
    );
    headers['content-length'] = String(form.bytes.length);
    return { method: 'POST', path: '/api/v1/letters', headers, body: form.bytes };
  });
}

function printSummary(work: number, durable: Record<number, number>): void {
  log('');
  log(`== summary: ${cores} cores, Node ${process.version}, ${lettersPerRun} letters per run ==`);
  log('');
  log(
    '| what | concurrency | per second | p99 ms | errors | CPU ms per item: server | postgres | workers | load generator |',
  );
  log('| --- | --- | --- | --- | --- | --- | --- | --- | --- |');
  for (const row of rows) {
    const { server, postgres, workers, load } = row.cpu;
    log(
      `| ${row.name} | ${row.concurrency} | ${fmt(row.perSecond)} | ${row.p99Ms?.toFixed(1) ?? '–'} | ${row.errors ?? '–'} | ${ms(server)} | ${ms(postgres)} | ${typeof workers === 'number' ? ms(workers) : (workers ?? '–')} | ${ms(load)} |`,
    );
  }
  log('');
  log(
    'CPU ms per item: per letter (ingest, per-letter work), request (bare route), write (durable writes), email (drain).',
  );
  log(
    'Ingest runs with the notification workers idle; their cost is the drain row (the in-process mail sink included).',
  );
  if (postgresNote) log(postgresNote);
  printEfficiency();
  printThroughputRatios(work, durable);
}

/**
 * CPU per letter, split by where it ran, beside the per-letter work: the figures that move
 * least between machines.
 */
function printEfficiency(): void {
  if (efficiency.length === 0) return;
  if (workBreakdown) {
    log('');
    log(
      `per-letter work, each step alone: signature + digest ${ms(workBreakdown.verifyMs)}, multipart ${ms(workBreakdown.parseMs)}, PDF inspection ${ms(workBreakdown.inspectMs)}, encryption ${ms(workBreakdown.sealMs)} ms CPU`,
    );
  }
  log('');
  log(`| CPU ms per letter | ${efficiency.map((column) => column.label).join(' | ')} |`);
  log(`| --- |${efficiency.map(() => ' --- |').join('')}`);
  const line = (label: string, value: (column: Efficiency) => number | undefined) =>
    log(`| ${label} | ${efficiency.map((column) => ms(value(column))).join(' | ')} |`);
  /** A row that is zero everywhere (threads where inspection runs in processes) is left out. */
  const lineUnlessZero = (label: string, value: (column: Efficiency) => number | undefined) => {
    if (efficiency.some((column) => (value(column) ?? 0) > 0)) line(label, value);
  };
  const per = (column: Efficiency, times: CpuTimes | undefined) =>
    times === undefined ? undefined : totalMs(times) / column.letters;
  const serverPlusPostgres = (column: Efficiency) =>
    per(column, column.split.total)! + (per(column, column.postgres) ?? 0);
  const kernel = (part: keyof CpuSplit) => (column: Efficiency) =>
    column.split[part].systemMs / column.letters;
  line('event-loop (main) thread', (column) => per(column, column.split.mainThread));
  line('of which in the kernel', kernel('mainThread'));
  line('PDF inspection (child processes)', (column) => per(column, column.split.childProcesses));
  lineUnlessZero('threads started on demand (a pool of worker threads)', (column) =>
    per(column, column.split.poolThreads),
  );
  line('other threads (V8 GC and compiler, libuv file I/O)', (column) =>
    per(column, column.split.otherThreads),
  );
  line('of which in the kernel', kernel('otherThreads'));
  line('**server (all of the above)**', (column) => per(column, column.split.total));
  line('of which in the kernel', kernel('total'));
  line('PostgreSQL (all its processes)', (column) => per(column, column.postgres));
  line('of which in the kernel', (column) =>
    column.postgres ? column.postgres.systemMs / column.letters : undefined,
  );
  line('**server + PostgreSQL**', serverPlusPostgres);
  line('above the per-letter work', (column) =>
    column.label === 'per-letter work' || Number.isNaN(workCpuMs)
      ? undefined
      : serverPlusPostgres(column) - workCpuMs,
  );
  line('HTTP floor (bare Fastify route, same body)', (column) => column.httpFloorMs);
  line('load generator (this process)', (column) => per(column, column.load));
  log('');
  for (const column of efficiency) {
    if (column.label === 'per-letter work') continue;
    const total = serverPlusPostgres(column);
    const load = per(column, column.load) ?? 0;
    log(
      `${column.label}: ${ms(total)} ms per letter${Number.isNaN(workCpuMs) ? '' : ` = ${(total / workCpuMs).toFixed(2)} × the per-letter work (efficiency ${(workCpuMs / total).toFixed(2)})`}; at ${cores} cores that is at most ${fmt((cores * 1000) / total)} letters/s if the server and PostgreSQL had every core; the load generator took ${Math.round((load * (column.perSecond ?? 0)) / 10)} % of one core`,
    );
  }
}

/** The original target, in letters per second: moves with the machine and the load generator. */
function printThroughputRatios(work: number, durable: Record<number, number>): void {
  log('');
  for (const concurrency of concurrencies) {
    const ingest = rows.find(
      (row) => row.name.startsWith('ingest') && row.concurrency === concurrency,
    );
    if (!ingest || Number.isNaN(work) || durable[concurrency] === undefined) continue;
    const bound = Math.min(work, durable[concurrency]!);
    const ratio = ingest.perSecond / bound;
    log(
      `c=${concurrency}: ingest / min(per-letter work, durable writes) = ${fmt(ingest.perSecond)} / ${fmt(bound)} = ${ratio.toFixed(2)} (target ≥ 0.50: ${ratio >= 0.5 && ingest.errors === 0 ? 'met' : 'NOT met'})`,
    );
  }
}

function perItem(count: number): (times: CpuTimes) => number {
  return (times) => totalMs(times) / count;
}

function describeCpu(cpu: CpuPerItem): string {
  const parts = [
    cpu.server !== undefined ? `server ${ms(cpu.server)}` : '',
    cpu.workers !== undefined && cpu.workers !== 'idle' ? `workers ${ms(cpu.workers)}` : '',
    cpu.postgres !== undefined ? `PostgreSQL ${ms(cpu.postgres)}` : '',
    cpu.load !== undefined ? `load generator ${ms(cpu.load)}` : '',
  ];
  return `CPU ms: ${parts.filter(Boolean).join(', ')}`;
}

function fmt(value: number): string {
  return value >= 100 ? value.toFixed(0) : value.toFixed(1);
}

function ms(value: number | undefined): string {
  if (value === undefined) return '–';
  return value >= 10 ? value.toFixed(1) : value.toFixed(2);
}

function log(line: string) {
  // After Ctrl-C the figures are of servers being stopped: not worth printing.
  if (!isInterrupted()) process.stdout.write(`${line}\n`);
}
