/**
 * What PDF inspection costs: CPU milliseconds per inspection of a ~100 KB three-page letter,
 * and inspections per second, first in this thread without a pool, then through the pool with
 * one and with two worker threads.
 *
 *   node --import tsx packages/server/bench/pdf-inspection.ts [inspections per run]
 *
 * CPU time is the whole process's (all threads, user + system), so the pool's figures include
 * its own overhead: copying and transferring the bytes, messages, the byte scan.
 */
import { availableParallelism } from 'node:os';
import { createPdfInspector } from '../src/documents/pdf-inspection.js';
import { buildPdf } from '../test/support/pdfs.js';

interface WorkerModule {
  scanPdfBytes(bytes: Uint8Array): Promise<unknown>;
  inspectWithPdfjs(bytes: Uint8Array, maxPages: number): Promise<unknown>;
}

const runs = Number(process.argv[2] ?? 300);
const warmUp = 30;
const letter = await buildPdf({ pages: 3, targetBytes: 100_000 });

interface Measurement {
  label: string;
  wallMs: number;
  cpuMs: number;
}

/**
 * Warms up, then times `runs` inspections: one after another, or all queued at once so that
 * every thread of a pool stays busy.
 */
async function measure(
  label: string,
  inspectOnce: () => Promise<unknown>,
  mode: 'sequential' | 'concurrent',
): Promise<Measurement> {
  await Promise.all(Array.from({ length: warmUp }, inspectOnce));
  const cpu = process.cpuUsage();
  const started = performance.now();
  if (mode === 'concurrent') {
    await Promise.all(Array.from({ length: runs }, inspectOnce));
  } else {
    for (let i = 0; i < runs; i += 1) await inspectOnce();
  }
  const wallMs = performance.now() - started;
  const used = process.cpuUsage(cpu);
  return { label, wallMs, cpuMs: (used.user + used.system) / 1000 };
}

const results: Measurement[] = [];

// In this thread, no pool: both layers back to back, as the worker runs them.
const workerScript = '../src/documents/pdf-inspection.worker.mjs';
const worker = (await import(workerScript)) as WorkerModule;
const inThisThread = async () => {
  const copy = letter.slice(); // pdf.js takes ownership of its input
  await worker.scanPdfBytes(copy);
  await worker.inspectWithPdfjs(copy, 500);
};
results.push(await measure('this thread, no pool', inThisThread, 'sequential'));
const scanStarted = performance.now();
for (let i = 0; i < runs; i += 1) await worker.scanPdfBytes(letter);
const scanMs = (performance.now() - scanStarted) / runs;

for (const threads of [1, 2]) {
  const inspector = createPdfInspector({ threads, maxQueued: Number.POSITIVE_INFINITY });
  try {
    const label = `pool, ${threads} thread${threads > 1 ? 's' : ''}`;
    results.push(await measure(label, () => inspector.inspect(letter), 'concurrent'));
  } finally {
    await inspector.close();
  }
}

console.log(
  `PDF inspection of a ${letter.byteLength}-byte, 3-page letter; ${runs} inspections per run; ` +
    `${availableParallelism()} CPUs; Node ${process.version}`,
);
console.log('');
console.log(
  '| run                  | CPU ms / inspection | wall ms / inspection | inspections/s |',
);
console.log(
  '| -------------------- | ------------------: | -------------------: | ------------: |',
);
for (const { label, wallMs, cpuMs } of results) {
  console.log(
    `| ${label.padEnd(20)} | ${(cpuMs / runs).toFixed(2).padStart(19)} | ${(wallMs / runs)
      .toFixed(2)
      .padStart(20)} | ${((runs / wallMs) * 1000).toFixed(0).padStart(13)} |`,
  );
}
console.log('');
console.log(`of which the byte scan alone: ${scanMs.toFixed(2)} ms per inspection (this thread)`);
