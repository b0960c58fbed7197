/**
 * PDF inspection before a letter is accepted (security invariant 7): the document must be a
 * readable PDF within the size and page limits, unencrypted, with no JavaScript, Launch
 * actions, embedded files, rich media or XFA. Anything else is refused with a
 * `document_rejected` problem whose detail tells the integrator what was found.
 *
 * Cheap checks (size, `%PDF-` header, `%%EOF` trailer) run here on the caller's thread. The
 * rest runs in a fixed pool of worker threads (`pdf-inspection.worker.mjs`) so that pdf.js
 * never blocks the event loop: each document's bytes are copied into a fresh buffer and
 * transferred, a thread that runs over the per-document timeout is terminated and replaced
 * (hostile PDFs can be slow on purpose), and a thread that dies takes only its own document
 * with it.
 */
import { availableParallelism } from 'node:os';
import { Worker } from 'node:worker_threads';
import { KuvertError } from '../errors.js';

export interface PdfLimits {
  /** Largest accepted file, in bytes. Default 20 MiB. */
  maxBytes: number;
  /** Most pages accepted. Default 500. */
  maxPages: number;
}

export interface PdfInspection {
  pageCount: number;
}

export interface PdfInspector {
  /**
   * Resolves when the document may be accepted; rejects with `document_rejected` (with a
   * human-readable detail) when it may not, and with `unavailable` when the inspector is
   * closed or its queue is full. `bytes` is copied when its turn comes: do not modify it
   * until the promise settles.
   */
  inspect(bytes: Uint8Array): Promise<PdfInspection>;
  /** Refuses what is queued or running and terminates every thread. Idempotent. */
  close(): Promise<void>;
}

export interface PdfInspectorOptions {
  /** Worker threads. Default: the number of CPUs. */
  threads?: number;
  limits?: Partial<PdfLimits>;
  /** Per document, from the moment a thread takes it. Default 10 s. */
  timeoutMs?: number;
  /** Documents allowed to wait for a thread; beyond that `inspect` answers `unavailable`. Default 1000. */
  maxQueued?: number;
  /** V8 heap limit of each thread, in MiB. Default 512. */
  maxHeapMb?: number;
  /** @internal A different worker script, for tests of the pool itself. */
  workerUrl?: URL;
}

export const defaultPdfLimits: Readonly<PdfLimits> = Object.freeze({
  maxBytes: 20 * 1024 * 1024,
  maxPages: 500,
});

/**
 * The worker is a plain `.mjs` file, not TypeScript: a worker thread does not inherit the
 * TypeScript loader of its parent (inside vitest it is plain Node), so only JavaScript loads
 * in every setting: the server under `node --import tsx`, the tests, the benchmark.
 */
const WORKER_URL = new URL('./pdf-inspection.worker.mjs', import.meta.url);

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
  | { type: 'result'; id: number; outcome: 'accepted'; pageCount: number }
  | { type: 'result'; id: number; outcome: 'rejected'; reason: string; logReason?: string };

interface Job {
  id: number;
  bytes: Uint8Array | null;
  resolve(inspection: PdfInspection): void;
  reject(error: KuvertError): void;
}

interface Slot {
  worker: Worker;
  /** pdf.js is loaded and the thread takes jobs. */
  ready: boolean;
  job: Job | null;
  timer: NodeJS.Timeout | null;
  /** Timed out and being terminated: no longer part of the pool. */
  retired: boolean;
}

export function createPdfInspector(options: PdfInspectorOptions = {}): PdfInspector {
  const threads = Math.max(1, Math.floor(options.threads ?? availableParallelism()));
  const limits: PdfLimits = { ...defaultPdfLimits, ...options.limits };
  const timeoutMs = options.timeoutMs ?? 10_000;
  const maxQueued = options.maxQueued ?? 1000;
  const maxHeapMb = options.maxHeapMb ?? 512;
  const workerUrl = options.workerUrl ?? WORKER_URL;

  const slots = new Set<Slot>();
  const queue: Job[] = [];
  const exits = new Set<Promise<void>>();
  let nextId = 1;
  let closed = false;

  function spawn(): void {
    const worker = new Worker(workerUrl, {
      // The thread needs nothing from the parent: no loader flags (a `--import tsx` would
      // only slow its start) and no environment (it holds no secrets to leak).
      execArgv: [],
      env: {},
      resourceLimits: { maxOldGenerationSizeMb: maxHeapMb },
    });
    const slot: Slot = { worker, ready: false, job: null, timer: null, retired: false };
    slots.add(slot);
    let lastError: unknown;
    worker.on('message', (message: WorkerMessage) => onMessage(slot, message));
    worker.on('error', (error) => {
      lastError = error;
    });
    const exited = new Promise<void>((resolve) => {
      worker.once('exit', (code) => {
        onExit(slot, code, lastError);
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
    const job = slot.job;
    if (!job || job.id !== message.id) return; // a late answer from a timed-out job
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

  function onExit(slot: Slot, code: number, error: unknown): void {
    slots.delete(slot);
    if (slot.timer) clearTimeout(slot.timer);
    if (closed || slot.retired) return;
    const why = `PDF inspection thread exited with code ${code}: ${describe(error)}`;
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
      // It never started: no thread will, so fail what waits rather than retry forever.
      const failure = new KuvertError('internal', undefined, { logReason: why });
      for (const waiting of queue.splice(0)) waiting.reject(failure);
      return;
    }
    replace();
  }

  function onTimeout(slot: Slot): void {
    const job = slot.job;
    slot.retired = true;
    slots.delete(slot);
    finish(slot);
    void slot.worker.terminate();
    job?.reject(
      new KuvertError(
        'document_rejected',
        `Checking the PDF took longer than ${formatSeconds(timeoutMs)}; it was refused.`,
        { logReason: `PDF inspection timed out after ${timeoutMs} ms; thread terminated` },
      ),
    );
    replace();
  }

  /** A thread was lost: start its successor now, so the pool stays warm. */
  function replace(): void {
    if (!closed && slots.size < threads) spawn();
    dispatch();
  }

  function finish(slot: Slot): void {
    if (slot.timer) clearTimeout(slot.timer);
    slot.timer = null;
    slot.job = null;
  }

  function start(slot: Slot, job: Job): void {
    const source = job.bytes ?? new Uint8Array();
    job.bytes = null;
    // A fresh, exactly sized buffer that belongs to the job alone, moved rather than cloned.
    const copy = new Uint8Array(source.byteLength);
    copy.set(source);
    slot.job = job;
    slot.timer = setTimeout(() => onTimeout(slot), timeoutMs);
    slot.worker.postMessage({ id: job.id, bytes: copy, maxPages: limits.maxPages }, [copy.buffer]);
  }

  function dispatch(): void {
    if (closed) return;
    for (const slot of slots) {
      if (queue.length === 0) return;
      if (slot.ready && !slot.job && !slot.retired) start(slot, queue.shift()!);
    }
    let starting = 0;
    for (const slot of slots) if (!slot.ready) starting += 1;
    while (queue.length > starting && slots.size < threads) {
      spawn();
      starting += 1;
    }
  }

  return {
    async inspect(bytes: Uint8Array): Promise<PdfInspection> {
      if (closed) throw new KuvertError('unavailable', 'PDF inspection has shut down.');
      checkPdfEnvelope(bytes, limits);
      if (queue.length >= maxQueued) {
        throw new KuvertError(
          'unavailable',
          'Too many documents are waiting to be checked; try again shortly.',
        );
      }
      return new Promise<PdfInspection>((resolve, reject) => {
        queue.push({ id: nextId++, bytes, resolve, reject });
        dispatch();
      });
    },

    async close(): Promise<void> {
      if (!closed) {
        closed = true;
        const error = new KuvertError('unavailable', 'PDF inspection has shut down.');
        for (const job of queue.splice(0)) job.reject(error);
        for (const slot of slots) {
          slot.job?.reject(error);
          finish(slot);
          void slot.worker.terminate();
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
