/**
 * What decompression bombs cost the server: each kind of bomb thrown at the PDF inspector N
 * times, with the refusals, the time to refuse, and the peak resident memory (RSS) of the
 * inspecting processes and of this (parent) process, beside the same figures while it inspects
 * ordinary letters and a scanned letter.
 *
 *   node --import tsx packages/server/bench/pdf-bombs.ts [times per bomb] [processes]
 *
 * Peak RSS of the inspecting processes is each process's own peak (`process.resourceUsage()`,
 * reported with every result) and, on Linux, the pool's memory watch; the parent's is sampled
 * every 10 ms during the phase. Each phase uses a fresh pool, so its peaks are its own.
 */
import { availableParallelism } from 'node:os';
import { createPdfInspector } from '../src/documents/pdf-inspection.js';
import {
  type BombKind,
  buildBombPdf,
  buildPdf,
  buildPdfWithPaddedObjectStream,
  buildScannedLetterPdf,
} from '../test/support/pdfs.js';

const times = Number(process.argv[2] ?? 5);
const processes = Number(process.argv[3] ?? 2);
const MiB = 1024 * 1024;

interface Sample {
  label: string;
  bytes: Uint8Array;
}

interface PhaseResult {
  label: string;
  fileBytes: number;
  inspections: number;
  accepted: number;
  refused: Map<string, number>;
  /** Wall time of the phase per document: with the pool busy, what each costs. */
  msPerDocument: number;
  childPeakRss: number;
  parentPeakRss: number;
}

/** Inspects `sample` `times` times, concurrently across the pool, on a fresh pool. */
async function phase(sample: Sample): Promise<PhaseResult> {
  const inspector = createPdfInspector({ processes, maxQueued: Number.POSITIVE_INFINITY });
  let parentPeakRss = process.memoryUsage.rss();
  const sampler = setInterval(() => {
    parentPeakRss = Math.max(parentPeakRss, process.memoryUsage.rss());
  }, 10);
  const refused = new Map<string, number>();
  let accepted = 0;
  try {
    // Every process is up: start-up is not refusal time.
    await Promise.all(
      Array.from({ length: processes }, async () => inspector.inspect(await buildPdf())),
    );
    const started = performance.now();
    await Promise.all(
      Array.from({ length: times }, async () => {
        try {
          await inspector.inspect(sample.bytes);
          accepted += 1;
        } catch (error) {
          const detail = (error as { detail?: string }).detail ?? String(error);
          const reason = summarise(detail);
          refused.set(reason, (refused.get(reason) ?? 0) + 1);
        }
      }),
    );
    return {
      label: sample.label,
      fileBytes: sample.bytes.byteLength,
      inspections: times,
      accepted,
      refused,
      msPerDocument: (performance.now() - started) / times,
      childPeakRss: inspector.stats().peakRssBytes,
      parentPeakRss,
    };
  } finally {
    clearInterval(sampler);
    await inspector.close();
  }
}

/** The refusal's kind, without object numbers: "bomb: metadata stream > 64 MiB". */
function summarise(detail: string): string {
  const bomb =
    /decompression bomb: (?:an? )?(.+?) \((?:object \d+|an object)\) (expands to more than [\d.]+ MiB|declares [\d ×]+ pixels)/.exec(
      detail,
    );
  if (bomb) return `bomb: ${bomb[1]} ${bomb[2]}`;
  if (/decompression bomb: its streams together/.test(detail)) return 'bomb: document total';
  if (/took longer than/.test(detail)) return 'TIMEOUT';
  if (/memory/.test(detail)) return 'memory cap';
  return detail.slice(0, 60);
}

const bombKinds: BombKind[] = [
  'metadataFlateOfFlate',
  'contentStreamWithLink',
  'flateImage',
  'dctImageDimensions',
  'sharedAppearanceStream',
];

const letters: Sample[] = [
  { label: 'letter, 3 pages, 100 KB', bytes: await buildPdf({ pages: 3, targetBytes: 100_000 }) },
  { label: 'scanned letter, A4 300 dpi RGB', bytes: buildScannedLetterPdf() },
];
const bombs: Sample[] = [
  ...bombKinds.map((kind) => ({ label: kind, bytes: buildBombPdf(kind) })),
  { label: 'padded object stream (JavaScript)', bytes: buildPdfWithPaddedObjectStream() },
];

const results: PhaseResult[] = [];
for (const sample of [...letters, ...bombs]) results.push(await phase(sample));

const mib = (bytes: number) => `${(bytes / MiB).toFixed(0)} MiB`;
console.log(
  `PDF bombs: each sample ${times} times, concurrently, through a pool of ${processes} processes; ` +
    `${availableParallelism()} CPUs; Node ${process.version}; ${process.platform}`,
);
console.log(
  [
    'sample'.padEnd(36),
    'file'.padStart(9),
    'accepted'.padStart(9),
    'ms/doc'.padStart(8),
    'peak RSS child'.padStart(15),
    'peak RSS parent'.padStart(16),
    '  refusals',
  ].join(''),
);
for (const result of results) {
  const refusals = [...result.refused].map(([reason, count]) => `${count}× ${reason}`).join('; ');
  console.log(
    [
      result.label.padEnd(36),
      `${Math.round(result.fileBytes / 1024)} KB`.padStart(9),
      `${result.accepted}/${result.inspections}`.padStart(9),
      result.msPerDocument.toFixed(0).padStart(8),
      mib(result.childPeakRss).padStart(15),
      mib(result.parentPeakRss).padStart(16),
      `  ${refusals || '-'}`,
    ].join(''),
  );
}
const bombResults = results.slice(letters.length);
const letterResults = results.slice(0, letters.length);
const peak = (list: PhaseResult[], key: 'childPeakRss' | 'parentPeakRss') =>
  Math.max(...list.map((result) => result[key]));
console.log(
  `peak RSS while refusing bombs: ${mib(peak(bombResults, 'childPeakRss'))} per inspecting process, ` +
    `${mib(peak(bombResults, 'parentPeakRss'))} parent; while inspecting letters: ` +
    `${mib(peak(letterResults, 'childPeakRss'))} per inspecting process, ${mib(peak(letterResults, 'parentPeakRss'))} parent`,
);
const timeouts = bombResults.filter((result) => result.refused.has('TIMEOUT')).length;
const acceptedBombs = bombResults.reduce((sum, result) => sum + result.accepted, 0);
if (timeouts > 0 || acceptedBombs > 0) {
  console.log(`FAIL: ${acceptedBombs} bombs accepted, ${timeouts} samples refused by timeout`);
  process.exitCode = 1;
}
