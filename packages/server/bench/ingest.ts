import { spawn } from 'node:child_process';
import type { JsonWebKey } from 'node:crypto';
import { randomUUID } from 'node:crypto';
import { mkdtemp, open, rm } from 'node:fs/promises';
import { availableParallelism, tmpdir } from 'node:os';
import path from 'node:path';
import { createInterface } from 'node:readline';
import { encodeLetterForm, generateSenderKey, type SenderKey, signRequest } from '@kuvert/sdk';
import { sealDocument } from '../src/documents/envelope.js';
import type { MasterKeys } from '../src/documents/master-keys.js';
import { createPdfInspector } from '../src/documents/pdf-inspection.js';
import { readSubmission } from '../src/letters/service.js';
import { refuseUnlessBodyMatches, verifySignedRequest } from '../src/senders/http-signatures.js';
import { buildPdf } from '../test/support/pdfs.js';
import { type PreparedRequest, runLoad } from './load.js';

/**
 * `npm run bench`: letter ingest through the real HTTP API with signing, beside three
 * baselines measured in the same run on the same machine:
 *   1. a bare Fastify route accepting the same body (the HTTP floor),
 *   2. the per-letter work alone on all cores (PDF inspection, signature and digest check,
 *      encryption) without HTTP or database,
 *   3. durable 100 KB writes (write + fsync) at the same concurrency.
 * Target: ingest ≥ half of the lower of baselines 2 and 3.
 */
const lettersPerRun = Number(process.env.BENCH_LETTERS ?? 1500);
const concurrencies = [8, 32];
/** Which measurements to run (all by default): ingest,bare,work,fsync. */
const stages = new Set((process.env.BENCH_STAGES ?? 'ingest,bare,work,fsync').split(','));
const host = '127.0.0.1';

const pdf = Buffer.from(
  await buildPdf({ pages: 3, targetBytes: 100 * 1024, text: 'Kuvert benchmark letter' }),
);
log(
  `document: ${pdf.length} bytes, 3 pages; ${lettersPerRun} letters per run; ${availableParallelism()} cores`,
);

interface Started {
  port: number;
  keyId?: string;
  privateJwk?: JsonWebKey;
  nationalId?: string;
  /** Send a command line to the child and read its one-line JSON answer. */
  ask(command: string): Promise<Record<string, number>>;
  stop(): Promise<void>;
}

async function startChild(script: string): Promise<Started> {
  const profile = process.env.BENCH_CPU_PROF
    ? ['--cpu-prof', `--cpu-prof-dir=${process.env.BENCH_CPU_PROF}`]
    : [];
  const child = spawn(
    process.execPath,
    [...profile, '--import', 'tsx', new URL(script, import.meta.url).pathname],
    {
      stdio: ['pipe', 'pipe', 'inherit'],
      env: process.env,
    },
  );
  const lines = createInterface({ input: child.stdout! });
  const nextLine = () =>
    new Promise<string>((resolve, reject) => {
      lines.once('line', resolve);
      child.once('exit', (code) => reject(new Error(`${script} exited with ${code}`)));
    });
  const info = JSON.parse(await nextLine()) as Omit<Started, 'stop' | 'ask'>;
  return {
    ...info,
    ask: async (command: string) => {
      child.stdin!.write(`${command}\n`);
      return JSON.parse(await nextLine());
    },
    stop: () =>
      new Promise<void>((resolve) => {
        // A server that does not stop within 30 s is a finding, but must not hang the bench.
        const timer = setTimeout(() => {
          log(`${script} did not stop within 30 s of SIGTERM; killing it`);
          child.kill('SIGKILL');
        }, 30_000);
        child.once('exit', () => {
          clearTimeout(timer);
          resolve();
        });
        child.kill('SIGTERM');
      }),
  };
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

type Row = {
  name: string;
  concurrency: number | string;
  perSecond: number;
  p99Ms?: number;
  errors?: number;
};
const rows: Row[] = [];

/** Signed letters at each concurrency against a server; one row per concurrency. */
async function loadAtEachConcurrency(name: string, port: number): Promise<void> {
  for (const concurrency of concurrencies) {
    const requests = prepareLetters({ key, nationalId, port, count: lettersPerRun });
    const result = await runLoad({ port, requests, concurrency, expectStatus: 201 });
    rows.push({
      name,
      concurrency,
      perSecond: result.perSecond,
      p99Ms: result.p99Ms,
      errors: result.errors,
    });
    log(
      `${name} c=${concurrency}: ${fmt(result.perSecond)}/s, p50 ${result.p50Ms.toFixed(1)} ms, p99 ${result.p99Ms.toFixed(1)} ms, statuses ${JSON.stringify(result.statuses)}`,
    );
  }
}

// Ingest through the real API.
const benchKey = generateSenderKey('ed25519');
let key: SenderKey = {
  keyId: benchKey.privateJwk.kid!,
  algorithm: 'ed25519',
  privateKey: benchKey.privateJwk,
};
let nationalId = '01010112345';
if (stages.has('ingest')) {
  const kuvert = await startChild('./kuvert-server.ts');
  key = { keyId: kuvert.keyId!, algorithm: 'ed25519', privateKey: kuvert.privateJwk! };
  nationalId = kuvert.nationalId!;
  await runLoad({
    port: kuvert.port,
    requests: prepareLetters({ key, nationalId, port: kuvert.port, count: 100 }),
    concurrency: 8,
    expectStatus: 201,
  }); // warm-up: JIT, connection pools, pdf.js workers
  await loadAtEachConcurrency('ingest (Kuvert API)', kuvert.port);
  // The notifications those letters queued, sent by the workers over SMTP to the mail sink.
  const drain = await kuvert.ask('drain');
  const drainRate = drain.drained! / drain.seconds!;
  rows.push({
    name: 'notification email drain (pg-boss → SMTP)',
    concurrency: 'workers',
    perSecond: drainRate,
  });
  log(
    `notifications: ${drain.drained} sent in ${drain.seconds!.toFixed(1)} s = ${fmt(drainRate)} emails/s (the sink keeps the last ${drain.sinkMessages})`,
  );
  await kuvert.stop();
}

// Baseline 1: bare Fastify route with the same body.
if (stages.has('bare')) {
  const bare = await startChild('./bare-server.ts');
  await loadAtEachConcurrency('baseline: bare Fastify route', bare.port);
  await bare.stop();
}

// Baseline 2: the per-letter work alone, on all cores.
let work = Number.NaN;
if (stages.has('work')) {
  work = await measurePerLetterWork(key, nationalId);
  rows.push({
    name: 'baseline: per-letter work, all cores',
    concurrency: 'all cores',
    perSecond: work,
  });
  log(`per-letter work: ${fmt(work)} letters/s`);
}

// Baseline 3: durable 100 KB writes at the same concurrency.
const durable: Record<number, number> = {};
if (stages.has('fsync')) {
  for (const concurrency of concurrencies) {
    durable[concurrency] = await measureDurableWrites(concurrency, lettersPerRun);
    rows.push({
      name: 'baseline: durable 100 KB writes (write + fsync)',
      concurrency,
      perSecond: durable[concurrency]!,
    });
    log(`durable writes c=${concurrency}: ${fmt(durable[concurrency]!)} writes/s`);
  }
}

// Report.
log('');
log('| what | concurrency | per second | p99 ms | errors |');
log('| --- | --- | --- | --- | --- |');
for (const row of rows) {
  log(
    `| ${row.name} | ${row.concurrency} | ${fmt(row.perSecond)} | ${row.p99Ms?.toFixed(1) ?? '–'} | ${row.errors ?? '–'} |`,
  );
}
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

async function measurePerLetterWork(senderKey: SenderKey, recipientId: string): Promise<number> {
  const threads = availableParallelism();
  const inspector = createPdfInspector({ threads });
  const masterKeys: MasterKeys = {
    currentVersion: 1,
    keys: new Map([[1, Buffer.alloc(32, 7)]]),
    lookupKey: Buffer.alloc(32, 9),
  };
  const { createPublicKey } = await import('node:crypto');
  const publicJwk = createPublicKey({
    key: senderKey.privateKey as JsonWebKey,
    format: 'jwk',
  }).export({ format: 'jwk' });
  const port = 8080;
  const letters = prepareLetters({
    key: senderKey,
    nationalId: recipientId,
    port,
    count: lettersPerRun,
  });
  const one = async (request: PreparedRequest) => {
    const verified = await verifySignedRequest({
      method: 'POST',
      authority: `${host}:${port}`,
      path: request.path,
      query: '',
      headers: Object.fromEntries(
        Object.entries(request.headers).map(([k, v]) => [k.toLowerCase(), v]),
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
    verified.body?.update(request.body);
    if (verified.body) refuseUnlessBodyMatches(verified.body);
    const submission = readSubmission(request.body, request.headers['content-type']);
    await inspector.inspect(submission.document.bytes);
    sealDocument({
      plaintext: submission.document.bytes,
      letterId: randomUUID(),
      documentId: randomUUID(),
      masterKeys,
    });
  };
  for (const letter of letters.slice(0, 50)) await one(letter); // warm-up
  let next = 0;
  const started = process.hrtime.bigint();
  await Promise.all(
    Array.from({ length: 32 }, async () => {
      while (next < letters.length) await one(letters[next++]!);
    }),
  );
  const seconds = Number(process.hrtime.bigint() - started) / 1e9;
  await inspector.close();
  return letters.length / seconds;
}

async function measureDurableWrites(concurrency: number, count: number): Promise<number> {
  const dir = await mkdtemp(path.join(tmpdir(), 'kuvert-bench-fsync-'));
  const payload = Buffer.alloc(100 * 1024, 1);
  let next = 0;
  const started = process.hrtime.bigint();
  await Promise.all(
    Array.from({ length: concurrency }, async () => {
      while (next < count) {
        const file = await open(path.join(dir, String(next++)), 'wx', 0o600);
        await file.write(payload);
        await file.sync();
        await file.close();
      }
    }),
  );
  const seconds = Number(process.hrtime.bigint() - started) / 1e9;
  await rm(dir, { recursive: true, force: true });
  return count / seconds;
}

function fmt(value: number): string {
  return value >= 100 ? value.toFixed(0) : value.toFixed(1);
}

function log(line: string) {
  process.stdout.write(`${line}\n`);
}
