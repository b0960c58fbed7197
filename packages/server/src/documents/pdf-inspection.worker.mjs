// @ts-check
/**
 * PDF inspection worker (security invariant 7): runs in a `node:worker_threads` thread owned by
 * the pool in `pdf-inspection.ts`, one document at a time.
 *
 * Why plain JavaScript: this file is loaded by `new Worker(url)`, and a worker thread does not
 * inherit the module loader of its parent. Under `node --import tsx` a `.ts` worker would
 * work, but inside vitest the test files are transformed by Vite and a worker thread gets
 * plain Node, which cannot load TypeScript. A `.mjs` file with JSDoc types loads the same way
 * everywhere (server, CLI, tests, benchmark) with no build step.
 *
 * Protocol (structured-clone messages):
 *   worker → pool: `{ type: 'ready' }` once pdf.js is loaded;
 *   pool → worker: `{ id, bytes, maxPages }` (the bytes' buffer is transferred);
 *   worker → pool: `{ type: 'result', id, outcome: 'accepted', pageCount }` or
 *                  `{ type: 'result', id, outcome: 'rejected', reason, logReason? }`.
 *
 * Two independent layers, because each misses things the other sees:
 *   1. A byte scan for names that mark active or embedded content (`/JavaScript`, `/JS`,
 *      `/Launch`, `/EmbeddedFile(s)`, `/RichMedia…`, `/XFA`), `#xx` escapes decoded, inside
 *      Flate object streams too. It sees objects pdf.js never reports (outline actions, Launch
 *      open actions, unreferenced objects) but is blind to other stream encodings.
 *   2. pdf.js itself (the same parser the web app displays letters with), which decodes every
 *      filter and reports document, page, annotation and form-field JavaScript, attachments
 *      and XFA through its API. Nothing is rendered: no fonts, images or operator lists.
 */
import { parentPort } from 'node:worker_threads';
import { constants as zlibConstants, inflateSync } from 'node:zlib';
import { AnnotationType, getDocument, VerbosityLevel } from 'pdfjs-dist/legacy/build/pdf.mjs';
import * as pdfjsWorker from 'pdfjs-dist/legacy/build/pdf.worker.mjs';

// pdf.js normally parses in a web worker of its own. This thread already is the worker, so
// hand pdf.js its worker-side handler directly: it then runs in this thread ("fake worker"),
// never spawns another thread and never imports a script by URL.
/** @type {{ pdfjsWorker?: unknown }} */ (globalThis).pdfjsWorker = pdfjsWorker;

/** Total bytes the byte scan may inflate from object streams, per document. */
const MAX_INFLATED_BYTES = 64 * 1024 * 1024;
/** Names longer than this cannot be one we look for, however escaped; skip decoding them. */
const MAX_INTERESTING_NAME_LENGTH = 64;

/**
 * @typedef {{ outcome: 'accepted', pageCount: number }
 *   | { outcome: 'rejected', reason: string, logReason?: string }} Verdict
 */

/** Kinds of content a letter may not carry, with the reason the integrator reads. */
const FINDINGS = /** @type {const} */ ({
  javascript: 'JavaScript',
  launch: 'a Launch action, which can start programs on the reader’s computer',
  embeddedFile: 'an embedded file (attachment), which can carry an executable',
  richMedia: 'rich media (Flash, video, 3D or sound), which can run code',
  xfa: 'an XFA form, which can carry scripts',
});

/** @typedef {keyof typeof FINDINGS} FindingKind */

/**
 * @param {FindingKind} kind
 * @param {string} where
 * @returns {Verdict}
 */
function found(kind, where) {
  return {
    outcome: 'rejected',
    reason: `The PDF contains ${FINDINGS[kind]} (${where}). Letters must be plain documents without scripts, actions that start programs, attachments or rich media.`,
  };
}

// --- Layer 1: byte scan --------------------------------------------------------------------

/** @type {Map<string, FindingKind>} */
const FLAGGED_NAMES = new Map([
  ['JavaScript', 'javascript'],
  ['JS', 'javascript'],
  ['Launch', 'launch'],
  ['EmbeddedFile', 'embeddedFile'],
  ['EmbeddedFiles', 'embeddedFile'],
  ['XFA', 'xfa'],
]);

/** Filters other than Flate: an object stream using one is left to pdf.js. */
const OTHER_FILTERS = new Set([
  'ASCIIHexDecode',
  'AHx',
  'ASCII85Decode',
  'A85',
  'LZWDecode',
  'LZW',
  'RunLengthDecode',
  'RL',
  'CCITTFaxDecode',
  'CCF',
  'DCTDecode',
  'DCT',
  'JBIG2Decode',
  'JPXDecode',
  'Crypt',
]);

/** 1 for PDF "regular" characters: neither white space nor delimiters (ISO 32000-1 §7.2.2). */
const REGULAR = new Uint8Array(256).fill(1);
for (const byte of [0x00, 0x09, 0x0a, 0x0c, 0x0d, 0x20]) REGULAR[byte] = 0;
for (const char of '()<>[]{}/%') REGULAR[char.charCodeAt(0)] = 0;

const STREAM = Buffer.from('stream', 'latin1');
const ENDSTREAM = Buffer.from('endstream', 'latin1');

/** @param {number} byte */
function hexValue(byte) {
  if (byte >= 0x30 && byte <= 0x39) return byte - 0x30;
  if (byte >= 0x41 && byte <= 0x46) return byte - 0x37;
  if (byte >= 0x61 && byte <= 0x66) return byte - 0x57;
  return -1;
}

/**
 * A name's characters with `#xx` escapes decoded (§7.3.5), as Latin-1: `/J#61vaScript` is
 * `/JavaScript` to every PDF reader, so it must be to this scan.
 * @param {Uint8Array} bytes
 * @param {number} start first byte after the slash
 * @param {number} end
 */
function decodeName(bytes, start, end) {
  let name = '';
  for (let i = start; i < end; i += 1) {
    const byte = /** @type {number} */ (bytes[i]);
    if (byte === 0x23 && i + 2 < end) {
      const high = hexValue(/** @type {number} */ (bytes[i + 1]));
      const low = hexValue(/** @type {number} */ (bytes[i + 2]));
      if (high >= 0 && low >= 0) {
        name += String.fromCharCode(high * 16 + low);
        i += 2;
        continue;
      }
    }
    name += String.fromCharCode(byte);
  }
  return name;
}

/**
 * @param {Buffer} bytes
 * @param {number} at
 * @param {Buffer} word
 */
function startsWithAt(bytes, at, word) {
  if (at + word.length > bytes.length) return false;
  for (let k = 0; k < word.length; k += 1) if (bytes[at + k] !== word[k]) return false;
  return true;
}

/**
 * Lexes the file the way a PDF reader does, closely enough to find names: skips comments,
 * literal strings (a URL like `(https://example.com/JavaScript)` is not a name) and stream
 * data, except that Flate-encoded object streams (§7.5.7) are inflated and scanned too, since
 * that is where modern writers put every dictionary.
 *
 * @param {Buffer} bytes
 * @param {{ inflated: number }} budget
 * @param {boolean} nested true inside an object stream (which cannot contain streams)
 * @returns {Verdict | null}
 */
function scanNames(bytes, budget, nested) {
  const n = bytes.length;
  // What the dictionary of the current object has said so far.
  let objectStream = false;
  let flate = false;
  let otherFilter = false;
  let i = 0;
  while (i < n) {
    const byte = /** @type {number} */ (bytes[i]);
    if (byte === 0x2f) {
      // Name.
      let end = i + 1;
      while (end < n && REGULAR[/** @type {number} */ (bytes[end])]) end += 1;
      if (end - i - 1 <= MAX_INTERESTING_NAME_LENGTH) {
        const name = decodeName(bytes, i + 1, end);
        const kind = name.startsWith('RichMedia') ? 'richMedia' : FLAGGED_NAMES.get(name);
        if (kind) return found(kind, `the name /${name} appears in the file`);
        if (name === 'ObjStm') objectStream = true;
        else if (name === 'FlateDecode' || name === 'Fl') flate = true;
        else if (OTHER_FILTERS.has(name)) otherFilter = true;
      }
      i = end;
    } else if (byte === 0x25) {
      // Comment, to the end of the line.
      while (i < n && bytes[i] !== 0x0a && bytes[i] !== 0x0d) i += 1;
    } else if (byte === 0x28) {
      // Literal string: balanced parentheses, backslash escapes.
      let depth = 1;
      i += 1;
      while (i < n && depth > 0) {
        const char = bytes[i];
        if (char === 0x5c) {
          i += 2;
          continue;
        }
        if (char === 0x28) depth += 1;
        else if (char === 0x29) depth -= 1;
        i += 1;
      }
    } else if (
      byte === 0x73 &&
      !nested &&
      startsWithAt(bytes, i, STREAM) &&
      (i === 0 || !REGULAR[/** @type {number} */ (bytes[i - 1])])
    ) {
      // `stream` keyword, then (tolerating stray spaces) the end of line before the data.
      let start = i + STREAM.length;
      while (start < n && (bytes[start] === 0x20 || bytes[start] === 0x09)) start += 1;
      if (bytes[start] !== 0x0d && bytes[start] !== 0x0a) {
        i += STREAM.length;
        continue;
      }
      start += bytes[start] === 0x0d && bytes[start + 1] === 0x0a ? 2 : 1;
      const endAt = bytes.indexOf(ENDSTREAM, start);
      const end = endAt === -1 ? n : endAt;
      if (objectStream && flate && !otherFilter) {
        const verdict = scanObjectStream(bytes.subarray(start, end), budget);
        if (verdict) return verdict;
      }
      objectStream = false;
      flate = false;
      otherFilter = false;
      i = endAt === -1 ? n : endAt + ENDSTREAM.length;
    } else if (
      byte === 0x6f &&
      bytes[i + 1] === 0x62 &&
      bytes[i + 2] === 0x6a &&
      (i + 3 >= n || !REGULAR[/** @type {number} */ (bytes[i + 3])])
    ) {
      // `obj` or `endobj`: a new object starts, forget what the last dictionary said.
      objectStream = false;
      flate = false;
      otherFilter = false;
      i += 3;
    } else {
      i += 1;
    }
  }
  return null;
}

/**
 * @param {Buffer} data
 * @param {{ inflated: number }} budget
 * @returns {Verdict | null}
 */
function scanObjectStream(data, budget) {
  const remaining = MAX_INFLATED_BYTES - budget.inflated;
  let inflated;
  try {
    // Sync flush: a stream cut short still yields what it has, as pdf.js would read it.
    inflated = inflateSync(data, {
      maxOutputLength: Math.max(remaining, 1),
      finishFlush: zlibConstants.Z_SYNC_FLUSH,
    });
  } catch (error) {
    if (/** @type {{ code?: string }} */ (error).code === 'ERR_BUFFER_TOO_LARGE') {
      return {
        outcome: 'rejected',
        reason: `The PDF's compressed object streams expand to more than ${MAX_INFLATED_BYTES / 1024 / 1024} MiB.`,
      };
    }
    // Not valid Flate data (or encrypted): nothing to scan here; pdf.js has the last word.
    return null;
  }
  budget.inflated += inflated.length;
  return scanNames(inflated, budget, true);
}

// --- Layer 2: pdf.js -----------------------------------------------------------------------

/** Annotation subtypes for multimedia that can run code or start players. */
const MULTIMEDIA_SUBTYPES = new Set(['RichMedia', '3D', 'Movie', 'Sound', 'Screen']);

/** @param {unknown} value */
function isNonEmpty(value) {
  if (value === null || value === undefined) return false;
  if (value instanceof Map) return value.size > 0;
  if (typeof value === 'object') return Object.keys(value).length > 0;
  return Boolean(value);
}

/**
 * @param {Uint8Array} data
 * @param {number} maxPages
 * @returns {Promise<Verdict>}
 */
async function inspectWithPdfjs(data, maxPages) {
  const loadingTask = getDocument({
    data,
    // Security invariant 7: pdf.js never compiles code from the document.
    isEvalSupported: false,
    disableFontFace: true,
    useSystemFonts: false,
    useWorkerFetch: false,
    useWasm: false,
    enableXfa: false,
    isOffscreenCanvasSupported: false,
    isImageDecoderSupported: false,
    stopAtErrors: true,
    verbosity: VerbosityLevel.ERRORS,
  });
  try {
    /** @type {import('pdfjs-dist').PDFDocumentProxy} */
    let doc;
    try {
      doc = await loadingTask.promise;
    } catch (error) {
      const name = /** @type {{ name?: string }} */ (error)?.name;
      if (name === 'PasswordException') {
        return {
          outcome: 'rejected',
          reason:
            'The PDF is protected by a password and cannot be checked. Send it without a password.',
          logReason: String(error),
        };
      }
      return unreadable(error);
    }

    const pageCount = doc.numPages;
    if (pageCount < 1) {
      return { outcome: 'rejected', reason: 'The PDF has no pages.' };
    }
    if (pageCount > maxPages) {
      return {
        outcome: 'rejected',
        reason: `The PDF has ${pageCount} pages; at most ${maxPages} are accepted.`,
      };
    }

    const { info } = await doc.getMetadata();
    const flags = /** @type {Record<string, unknown>} */ (info);
    if (flags.IsXFAPresent === true) return found('xfa', 'in the interactive form');
    if (flags.IsCollectionPresent === true) {
      return found('embeddedFile', 'the document is a portfolio');
    }

    const jsActions = await doc.getJSActions();
    if (isNonEmpty(jsActions)) {
      const events = Object.keys(/** @type {object} */ (jsActions)).join(', ');
      return found('javascript', `document actions: ${events}`);
    }
    if (isNonEmpty(await doc.getAttachments())) {
      return found('embeddedFile', 'document attachments');
    }
    if (await doc.hasJSActions()) return found('javascript', 'form field actions');
    const fields = await doc.getFieldObjects();
    if (fields) {
      for (const list of Object.values(fields)) {
        for (const field of list) {
          if (isNonEmpty(/** @type {{ actions?: unknown }} */ (field).actions)) {
            return found('javascript', 'form field actions');
          }
        }
      }
    }

    for (let pageNumber = 1; pageNumber <= pageCount; pageNumber += 1) {
      const page = await doc.getPage(pageNumber);
      try {
        if (isNonEmpty(await page.getJSActions())) {
          return found('javascript', `page actions on page ${pageNumber}`);
        }
        const annotations = await page.getAnnotations({ intent: 'any' });
        for (const annotation of annotations) {
          const where = `a ${annotation.subtype ?? 'annotation'} annotation on page ${pageNumber}`;
          if (isNonEmpty(annotation.actions)) return found('javascript', where);
          if (annotation.annotationType === AnnotationType.FILEATTACHMENT || annotation.file) {
            return found('embeddedFile', where);
          }
          if (
            MULTIMEDIA_SUBTYPES.has(annotation.subtype) ||
            annotation.annotationType === AnnotationType.THREED
          ) {
            return found('richMedia', where);
          }
        }
      } finally {
        page.cleanup();
      }
    }
    return { outcome: 'accepted', pageCount };
  } finally {
    await loadingTask.destroy();
  }
}

/**
 * @param {unknown} error
 * @returns {Verdict}
 */
function unreadable(error) {
  return {
    outcome: 'rejected',
    reason: 'The PDF could not be read: it is damaged, truncated or not a PDF.',
    logReason: String(/** @type {{ message?: string }} */ (error)?.message ?? error),
  };
}

/**
 * @param {Uint8Array} bytes
 * @param {number} maxPages
 * @returns {Promise<Verdict>}
 */
export async function inspectPdf(bytes, maxPages) {
  const buffer = Buffer.from(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  const scanned = scanNames(buffer, { inflated: 0 }, false);
  if (scanned) return scanned;
  try {
    return await inspectWithPdfjs(bytes, maxPages);
  } catch (error) {
    // pdf.js failed part-way (a broken page tree, a bad annotation): the document is unusable.
    return unreadable(error);
  }
}

if (parentPort) {
  const port = parentPort;
  port.on('message', async (/** @type {{ id: number, bytes: Uint8Array, maxPages: number }} */ job) => {
    const verdict = await inspectPdf(job.bytes, job.maxPages);
    port.postMessage({ type: 'result', id: job.id, ...verdict });
  });
  port.postMessage({ type: 'ready' });
}
