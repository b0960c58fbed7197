/**
 * PDF inspection before a letter is accepted (security invariant 7): the document must be a
 * readable PDF within the size and page limits, unencrypted, with no JavaScript, Launch
 * actions, embedded files, rich media or XFA, and no stream that expands past its bound (a
 * decompression bomb). Anything else is refused with a `document_rejected` problem whose
 * detail tells the integrator what was found.
 *
 * Cheap checks (size, `%PDF-` header, `%%EOF` trailer) run here on the caller's thread. The
 * rest runs in a fixed pool of child processes (`pdf-inspection.worker.mjs`), one document at a
 * time each, so that pdf.js never blocks the event loop and its memory has a ceiling that
 * covers everything it allocates: a V8 heap limit, and on Linux a resident-memory watch that
 * kills a process over its cap (a thread's heap limit does not cover decoded ArrayBuffers, and
 * a terminated thread's memory stays with the server). A process that runs over the timeout or
 * the cap is killed, which returns all of its memory at once, and replaced; a process that dies
 * takes only its own document with it. Waiting documents are bounded by count and by bytes.
 * See docs/decisions/0003-pdf-inspection-in-child-processes.md.
 */
import { type ChildProcess, fork } from 'node:child_process';
import { readFile } from 'node:fs/promises';
import { availableParallelism } from 'node:os';
import { fileURLToPath } from 'node:url';
import { KuvertError } from '../errors.js';

export interface PdfLimits {
  /** Largest accepted file, in bytes. Default 20 MiB. */
  maxBytes: number;
  /** Most pages accepted. Default 500. */
  maxPages: number;
  /**
   * Decoded bytes of one stream that is not an image (page content, form XObjects and
   * appearance streams, fonts, metadata, object streams). Default 64 MiB: the largest real
   * content streams (detailed maps and drawings) and embedded fonts (full CJK fonts) are a few
   * tens of MiB; a letter's are kilobytes.
   */
  maxStreamBytes: number;
  /**
   * Bytes of one image: decoded, and as declared (width × height × 4, the RGBA pixels a viewer
   * holds). Default 160 MiB: an A4 page scanned at 600 dpi is 139 MB as RGBA (at 300 dpi,
   * 35 MB; 26 MB as RGB data), so any real scan passes, while a bomb's gigapixels do not.
   */
  maxImageBytes: number;
  /**
   * Decoded bytes of all streams of one document together. Default 1 GiB: about thirty 300 dpi
   * colour scans decompressed, more than a 20 MiB file of real scans holds, and about a second
   * of decompression for the scan.
   */
  maxDecodedBytes: number;
}

export interface PdfInspection {
  pageCount: number;
}

export interface PdfInspectorStats {
  /** Inspecting processes alive now. */
  processes: number;
  /** Documents waiting for a process, and their bytes. */
  queued: number;
  queuedBytes: number;
  /**
   * The largest resident memory any inspecting process has reached since the inspector was
   * created (each process's own peak, reported with every result, and on Linux the samples of
   * the memory watch).
   */
  peakRssBytes: number;
}

export interface PdfInspector {
  /**
   * Resolves when the document may be accepted; rejects with `document_rejected` (with a
   * human-readable detail) when it may not, and with `unavailable` when the inspector is
   * closed or its queue is full. `bytes` is copied when its turn comes: do not modify it
   * until the promise settles.
   */
  inspect(bytes: Uint8Array): Promise<PdfInspection>;
  /** Figures for benchmarks and tests. */
  stats(): PdfInspectorStats;
  /** Refuses what is queued or running and kills every process. Idempotent. */
  close(): Promise<void>;
}

export interface PdfInspectorOptions {
  /** Inspecting processes. Default: the number of CPUs. */
  processes?: number;
  /** The former name of `processes` (inspection ran in threads): the same setting. */
  threads?: number;
  limits?: Partial<PdfLimits>;
  /** Per document, from the moment a process takes it. Default 10 s. */
  timeoutMs?: number;
  /** Documents allowed to wait for a process; beyond that `inspect` answers `unavailable`. Default 1000. */
  maxQueued?: number;
  /** Bytes of the documents allowed to wait, together. Default 256 MiB. */
  maxQueuedBytes?: number;
  /** V8 heap limit of each process, in MiB. Default 512. */
  maxHeapMb?: number;
  /**
   * Resident memory of each process, in MiB, beyond which it is killed and its document
   * refused (enforced on Linux, where it can be read cheaply). Default 1024: the heap limit
   * plus room for decoded buffers, about ten times what the largest accepted letters need.
   */
  maxRssMb?: number;
  /** @internal A different worker script, for tests of the pool itself. */
  workerUrl?: URL;
}

export const defaultPdfLimits: Readonly<PdfLimits> = Object.freeze({
  maxBytes: 20 * 1024 * 1024,
  maxPages: 500,
  maxStreamBytes: 64 * 1024 * 1024,
  maxImageBytes: 160 * 1024 * 1024,
  maxDecodedBytes: 1024 * 1024 * 1024,
});

/**
 * The worker is a plain `.mjs` file, not TypeScript: the child process is plain Node, without
 * the TypeScript loader of its parent (and vitest's transform), so only JavaScript loads in
 * every setting: the server under `node --import tsx`, the tests, the benchmark.
 */
const WORKER_URL = new URL('./pdf-inspection.worker.mjs', import.meta.url);

/** The argument that makes the worker script serve the pool (see the script). */
const CHILD_FLAG = '--kuvert-pdf-inspection';

const PDF_HEADER = Buffer.from('%PDF-', 'latin1');
const PDF_EOF = Buffer.from('%%EOF', 'latin1');
/** Readers accept the header within the first 1024 bytes and %%EOF within the last 1024. */
const MARKER_WINDOW = 1024;

/**
 * The checks that need no parsing. Throws `document_rejected`.
 */
export function checkPdfEnvelope(bytes: Uint8Array, limits: PdfLimits = defaultPdfLimits): void {
  if (bytes.byteLength === 0) {
    throw new KuvertError('document_rejected', 'The document is empty.');
  }
  if (bytes.byteLength > limits.maxBytes) {
    throw new KuvertError(
      'document_rejected',
      `The PDF is ${bytes.byteLength} bytes; at most ${limits.maxBytes} bytes (${formatMiB(limits.maxBytes)}) are accepted.`,
    );
  }
  const buffer = Buffer.from(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  const header = buffer.subarray(0, MARKER_WINDOW + PDF_HEADER.length);
  if (header.indexOf(PDF_HEADER) === -1) {
    throw new KuvertError(
      'document_rejected',
      'The document is not a PDF: there is no %PDF- header at its start.',
    );
  }
  if (buffer.subarray(-(MARKER_WINDOW + PDF_EOF.length)).indexOf(PDF_EOF) === -1) {
    throw new KuvertError(
      'document_rejected',
      'The PDF is incomplete: it does not end with %%EOF, so it was probably cut short.',
    );
  }
}

function formatMiB(bytes: number): string {
  return `${Math.round((bytes / 1024 / 1024) * 10) / 10} MiB`;
}

type WorkerMessage =
  | { type: 'ready' }
  | {
      type: 'result';
      id: number;
      peakRssBytes?: number;
      outcome: 'accepted';
      pageCount: number;
    }
  | {
      type: 'result';
      id: number;
      peakRssBytes?: number;
      outcome: 'rejected';
      reason: string;
      logReason?: string;
    };

interface Job {
  id: number;
  bytes: Uint8Array | null;
  size: number;
  resolve(inspection: PdfInspection): void;
  reject(error: KuvertError): void;
}

interface Slot {
  child: ChildProcess;
  /** pdf.js is loaded and the process takes jobs. */
  ready: boolean;
  job: Job | null;
  timer: NodeJS.Timeout | null;
  /** Polls the process's resident memory while it has a job (Linux only). */
  watch: NodeJS.Timeout | null;
  /** Killed by the pool (timeout, memory cap, close): no longer part of the pool. */
  retired: boolean;
  /** The end of what the process wrote to stderr, for the log when it dies. */
  stderr: string;
}

/** How often a busy process's resident memory is read, on Linux. */
const RSS_POLL_MS = 25;

export function createPdfInspector(options: PdfInspectorOptions = {}): PdfInspector {
  const processes = Math.max(
    1,
    Math.floor(options.processes ?? options.threads ?? availableParallelism()),
  );
  const limits: PdfLimits = { ...defaultPdfLimits, ...options.limits };
  const timeoutMs = options.timeoutMs ?? 10_000;
  const maxQueued = options.maxQueued ?? 1000;
  const maxQueuedBytes = options.maxQueuedBytes ?? 256 * 1024 * 1024;
  const maxHeapMb = options.maxHeapMb ?? 512;
  const maxRssBytes = (options.maxRssMb ?? 1024) * 1024 * 1024;
  const script = fileURLToPath(options.workerUrl ?? WORKER_URL);
  const watchRss = process.platform === 'linux';
  const bounds = {
    maxStreamBytes: limits.maxStreamBytes,
    maxImageBytes: limits.maxImageBytes,
    maxDecodedBytes: limits.maxDecodedBytes,
  };

  const slots = new Set<Slot>();
  const queue: Job[] = [];
  const exits = new Set<Promise<void>>();
  let queuedBytes = 0;
  let peakRssBytes = 0;
  let nextId = 1;
  let closed = false;

  function spawn(): void {
    const child = fork(script, [CHILD_FLAG], {
      // The process needs nothing from the parent: no loader flags (a `--import tsx` would only
      // slow its start), no environment (it holds no secrets to leak), no terminal (pdf.js's
      // console output must not reach the server's stdout).
      execArgv: [`--max-old-space-size=${maxHeapMb}`],
      env: {},
      stdio: ['ignore', 'ignore', 'pipe', 'ipc'],
      serialization: 'advanced',
    });
    const slot: Slot = {
      child,
      ready: false,
      job: null,
      timer: null,
      watch: null,
      retired: false,
      stderr: '',
    };
    slots.add(slot);
    child.stderr?.setEncoding('utf8');
    child.stderr?.on('data', (text: string) => {
      slot.stderr = (slot.stderr + text).slice(-2000);
    });
    let lastError: unknown;
    child.on('message', (message: WorkerMessage) => onMessage(slot, message));
    child.on('error', (error) => {
      lastError = error;
    });
    const exited = new Promise<void>((resolve) => {
      child.once('exit', (code, signal) => {
        onExit(slot, code ?? signal ?? 'unknown', lastError);
        resolve();
      });
    });
    exits.add(exited);
    void exited.then(() => exits.delete(exited));
  }

  function onMessage(slot: Slot, message: WorkerMessage): void {
    if (message.type === 'ready') {
      slot.ready = true;
      dispatch();
      return;
    }
    if (message.peakRssBytes) peakRssBytes = Math.max(peakRssBytes, message.peakRssBytes);
    const job = slot.job;
    if (!job || job.id !== message.id) return; // a late answer from a killed job
    finish(slot);
    if (message.outcome === 'accepted') {
      job.resolve({ pageCount: message.pageCount });
    } else {
      job.reject(
        new KuvertError(
          'document_rejected',
          message.reason,
          message.logReason ? { logReason: message.logReason } : {},
        ),
      );
    }
    dispatch();
  }

  function onExit(slot: Slot, code: number | string, error: unknown): void {
    slots.delete(slot);
    stopTimers(slot);
    if (closed || slot.retired) return;
    const stderr = slot.stderr.trim();
    const why = `PDF inspection process exited with code ${code}: ${describe(error)}${stderr ? `; stderr: ${stderr}` : ''}`;
    const job = slot.job;
    slot.job = null;
    if (job) {
      // It died on this document (most likely its heap limit): the document is the suspect.
      job.reject(
        new KuvertError(
          'document_rejected',
          'The PDF could not be checked: checking it failed or used more resources than allowed.',
          { logReason: why },
        ),
      );
    } else if (!slot.ready) {
      // It never started: no process will, so fail what waits rather than retry forever.
      const failure = new KuvertError('internal', undefined, { logReason: why });
      for (const waiting of queue.splice(0)) waiting.reject(failure);
      queuedBytes = 0;
      return;
    }
    replace();
  }

  /** Takes a process out of the pool and kills it; its job is refused with `error`. */
  function retire(slot: Slot, error: KuvertError): void {
    const job = slot.job;
    slot.retired = true;
    slots.delete(slot);
    finish(slot);
    slot.child.kill('SIGKILL');
    job?.reject(error);
    replace();
  }

  function onTimeout(slot: Slot): void {
    retire(
      slot,
      new KuvertError(
        'document_rejected',
        `Checking the PDF took longer than ${formatSeconds(timeoutMs)}; it was refused.`,
        { logReason: `PDF inspection timed out after ${timeoutMs} ms; process killed` },
      ),
    );
  }

  /** Linux: reads the process's resident memory; over the cap, the document is refused. */
  function checkRss(slot: Slot): void {
    const pid = slot.child.pid;
    if (pid === undefined) return;
    readFile(`/proc/${pid}/status`, 'latin1').then(
      (status) => {
        const kib = Number(/^VmRSS:\s+(\d+) kB/m.exec(status)?.[1] ?? 0);
        const rss = kib * 1024;
        peakRssBytes = Math.max(peakRssBytes, rss);
        if (rss > maxRssBytes && slot.job && !slot.retired) {
          retire(
            slot,
            new KuvertError(
              'document_rejected',
              `Checking the PDF needed more than ${formatMiB(maxRssBytes)} of memory; it was refused.`,
              { logReason: `PDF inspection process used ${formatMiB(rss)}; process killed` },
            ),
          );
        }
      },
      () => {}, // the process has just exited
    );
  }

  /** A process was lost: start its successor now, so the pool stays warm. */
  function replace(): void {
    if (!closed && slots.size < processes) spawn();
    dispatch();
  }

  function stopTimers(slot: Slot): void {
    if (slot.timer) clearTimeout(slot.timer);
    if (slot.watch) clearInterval(slot.watch);
    slot.timer = null;
    slot.watch = null;
  }

  function finish(slot: Slot): void {
    stopTimers(slot);
    slot.job = null;
  }

  function start(slot: Slot, job: Job): void {
    const bytes = job.bytes ?? new Uint8Array();
    job.bytes = null;
    queuedBytes -= job.size;
    slot.job = job;
    slot.timer = setTimeout(() => onTimeout(slot), timeoutMs);
    if (watchRss) slot.watch = setInterval(() => checkRss(slot), RSS_POLL_MS);
    // An exactly sized plain Uint8Array: the IPC serializer would otherwise send all of a
    // Buffer's underlying pool, and revive it as a Buffer, which pdf.js refuses. It is
    // serialised into the channel now: neither copy is kept.
    const copy = new Uint8Array(bytes.byteLength);
    copy.set(bytes);
    slot.child.send({ id: job.id, bytes: copy, maxPages: limits.maxPages, bounds });
  }

  function dispatch(): void {
    if (closed) return;
    for (const slot of slots) {
      if (queue.length === 0) return;
      if (slot.ready && !slot.job && !slot.retired) start(slot, queue.shift()!);
    }
    let starting = 0;
    for (const slot of slots) if (!slot.ready) starting += 1;
    while (queue.length > starting && slots.size < processes) {
      spawn();
      starting += 1;
    }
  }

  return {
    async inspect(bytes: Uint8Array): Promise<PdfInspection> {
      if (closed) throw new KuvertError('unavailable', 'PDF inspection has shut down.');
      checkPdfEnvelope(bytes, limits);
      if (queue.length >= maxQueued || queuedBytes + bytes.byteLength > maxQueuedBytes) {
        throw new KuvertError(
          'unavailable',
          'Too many documents are waiting to be checked; try again shortly.',
        );
      }
      return new Promise<PdfInspection>((resolve, reject) => {
        queue.push({ id: nextId++, bytes, size: bytes.byteLength, resolve, reject });
        queuedBytes += bytes.byteLength;
        dispatch();
      });
    },

    stats(): PdfInspectorStats {
      return { processes: slots.size, queued: queue.length, queuedBytes, peakRssBytes };
    },

    async close(): Promise<void> {
      if (!closed) {
        closed = true;
        const error = new KuvertError('unavailable', 'PDF inspection has shut down.');
        for (const job of queue.splice(0)) job.reject(error);
        queuedBytes = 0;
        for (const slot of slots) {
          slot.job?.reject(error);
          finish(slot);
          slot.child.kill('SIGKILL');
        }
      }
      await Promise.all([...exits]);
    },
  };
}

function formatSeconds(ms: number): string {
  return ms >= 1000 ? `${Math.round(ms / 100) / 10} s` : `${ms} ms`;
}

function describe(error: unknown): string {
  if (error instanceof Error) return `${error.name}: ${error.message}`;
  return error === undefined ? 'no error reported' : String(error);
}
