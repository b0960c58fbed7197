/**
 * pdf.js, set up for Kuvert's CSP (security invariants 7 and 9):
 * - the worker comes from our own origin (Vite emits it as an asset), never a CDN;
 * - `isEvalSupported: false`: pdf.js never compiles PDF functions with `new Function`;
 * - `useWasm: false`: the CSP has no 'wasm-unsafe-eval', so pdf.js's JavaScript decoders run;
 * - fonts, CMaps and ICC profiles come from our own origin (see vite.config.ts);
 * - no XFA forms, no scripting (this build of pdf.js has no sandbox loaded).
 *
 * The legacy build is used on purpose: pdf.js 5.6's modern build calls brand-new built-ins
 * (`Map.prototype.getOrInsertComputed`, `Promise.try`) without polyfills, which would break
 * recent but not bleeding-edge Safari and Firefox. The legacy build carries those polyfills.
 */
import {
  GlobalWorkerOptions,
  getDocument,
  type PDFDocumentLoadingTask,
} from 'pdfjs-dist/legacy/build/pdf.mjs';
import workerUrl from 'pdfjs-dist/legacy/build/pdf.worker.min.mjs?url';

export type {
  PDFDocumentProxy,
  PDFPageProxy,
  RenderTask,
} from 'pdfjs-dist/legacy/build/pdf.mjs';

GlobalWorkerOptions.workerSrc = workerUrl;

const assets = import.meta.env.KUVERT_PDFJS_ASSETS;

/** Opens a PDF from bytes. The bytes are copied: pdf.js hands its buffer to the worker. */
export function openPdf(bytes: ArrayBuffer): PDFDocumentLoadingTask {
  return getDocument({
    data: new Uint8Array(bytes.slice(0)),
    isEvalSupported: false,
    useWasm: false,
    enableXfa: false,
    wasmUrl: `${assets}wasm/`,
    standardFontDataUrl: `${assets}standard_fonts/`,
    cMapUrl: `${assets}cmaps/`,
    cMapPacked: true,
    iccUrl: `${assets}iccs/`,
    stopAtErrors: false,
  });
}
