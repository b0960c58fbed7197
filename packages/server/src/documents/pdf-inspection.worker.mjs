// @ts-check
/**
 * PDF inspection worker (security invariant 7). Runs in a child process owned by the pool in
 * `pdf-inspection.ts`, one document at a time, so that pdf.js never blocks the server's event
 * loop, its memory has a ceiling, and a hostile document is stopped by killing the process,
 * which gives all of its memory back.
 *
 * Why plain JavaScript: the child is a plain `node` process without the TypeScript loader of
 * the server (and inside vitest test files are transformed by Vite, which a child process does
 * not get). A `.mjs` file with JSDoc types loads the same way everywhere (server, CLI, tests,
 * benchmark) with no build step.
 *
 * Protocol (IPC messages, advanced serialization):
 *   worker → pool: `{ type: 'ready' }` once pdf.js is loaded;
 *   pool → worker: `{ id, bytes, maxPages, bounds }`;
 *   worker → pool: `{ type: 'result', id, peakRssBytes, outcome: 'accepted', pageCount }` or
 *                  `{ type: 'result', id, peakRssBytes, outcome: 'rejected', reason, logReason? }`.
 *
 * Two independent layers, because each misses things the other sees:
 *   1. `scanPdfBytes`: a scan of the bytes for names that mark active or embedded content,
 *      `#xx` escapes decoded, including inside every object stream (whose filters it decodes,
 *      refusing any it cannot). It finds what pdf.js's API never reports (JavaScript in links
 *      and bookmarks, Launch actions, objects reachable only after xref repair). It also
 *      decodes every stream's filters within a bound (`pdf-stream-decoding.mjs`), so that a
 *      decompression bomb is refused before pdf.js, or a recipient's viewer, decodes it.
 *   2. `inspectWithPdfjs`: pdf.js itself, the parser the web app displays letters with, which
 *      resolves the document's structure and reports document, page, annotation and form-field
 *      JavaScript, attachments, XFA and encryption through its API. Nothing is rendered: no
 *      fonts, images or operator lists are loaded.
 */
import { AnnotationType, getDocument, VerbosityLevel } from 'pdfjs-dist/legacy/build/pdf.mjs';
// @ts-expect-error pdfjs-dist ships no type declarations for its worker entry point.
import * as pdfjsWorker from 'pdfjs-dist/legacy/build/pdf.worker.mjs';
import {
  chunksOf,
  collectBytes,
  countBytes,
  DamagedData,
  DECODABLE_FILTERS,
  decodeChain,
  decodeSmallFlateChain,
  IMAGE_CODECS,
} from './pdf-stream-decoding.mjs';

// pdf.js normally parses in a web worker of its own. This thread already is that worker, so
// hand pdf.js its worker-side handler directly: it runs here ("fake worker"), never spawns
// another thread and never imports a script by URL.
/** @type {{ pdfjsWorker?: unknown }} */ (globalThis).pdfjsWorker = pdfjsWorker;

/**
 * @typedef {{ outcome: 'accepted', pageCount: number }} Accepted
 * @typedef {{ outcome: 'rejected', reason: string, logReason?: string }} Rejected
 * @typedef {Accepted | Rejected} Verdict
 */

/** Kinds of content a letter may not carry, as the integrator reads them. */
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
 * @returns {Rejected}
 */
function found(kind, where) {
  return {
    outcome: 'rejected',
    reason: `The PDF contains ${FINDINGS[kind]} (${where}). Letters must be plain documents: no scripts, actions that start programs, attachments or rich media.`,
  };
}

/** @type {Rejected} */
const ENCRYPTED = {
  outcome: 'rejected',
  reason:
    'The PDF is encrypted or password-protected, so its content cannot be checked. Send it without encryption or password.',
};

/** @param {string} detail @returns {Rejected} */
function uncheckable(detail) {
  return {
    outcome: 'rejected',
    reason: `The PDF cannot be checked: ${detail}. Save it again with a standard PDF writer.`,
  };
}

// --- Layer 1: byte scan --------------------------------------------------------------------

/** Deeper nesting than this is not what a PDF writer produces; pdf.js would still read it. */
const MAX_NESTING = 64;
/** Names longer than this cannot be one we look for, however escaped; they are not decoded. */
const MAX_INTERESTING_NAME_LENGTH = 64;

/**
 * Names that mark content a letter may not carry. Long names are looked for everywhere, stream
 * data included: noise cannot spell `/JavaScript` by chance, but a damaged file's repair can
 * turn bytes inside a stream into objects. The short ones (`/JS`, `/XFA`) would turn up by
 * chance in megabytes of compressed data, so inside stream data they are left to the long
 * names that must accompany them (`/S /JavaScript`; `/XFA` is reported by pdf.js).
 * @type {Map<string, { kind: FindingKind, short: boolean }>}
 */
const FLAGGED_NAMES = new Map([
  ['JavaScript', { kind: 'javascript', short: false }],
  ['JS', { kind: 'javascript', short: true }],
  ['Launch', { kind: 'launch', short: false }],
  ['EmbeddedFile', { kind: 'embeddedFile', short: false }],
  ['EmbeddedFiles', { kind: 'embeddedFile', short: false }],
  ['FileAttachment', { kind: 'embeddedFile', short: false }],
  ['Rendition', { kind: 'richMedia', short: false }],
  ['XFA', { kind: 'xfa', short: true }],
]);

/**
 * First bytes a name must start with to be worth decoding: the initials of the flagged names
 * and of /Encrypt, or `#` (an escape). Files hold hundreds of thousands of names; this keeps
 * the scan from building a string for each.
 */
const CANDIDATE_INITIAL = new Uint8Array(256);
for (const char of 'JLEFRX#') CANDIDATE_INITIAL[char.charCodeAt(0)] = 1;

/** @param {string} name @returns {{ kind: FindingKind, short: boolean } | undefined} */
function flagged(name) {
  if (name.startsWith('RichMedia')) return { kind: 'richMedia', short: false };
  return FLAGGED_NAMES.get(name);
}

/** 1 for PDF "regular" characters: neither white space nor delimiters (ISO 32000-1 §7.2.2). */
const REGULAR = new Uint8Array(256).fill(1);
/** 1 for PDF white space (§7.2.2). */
const WHITESPACE = new Uint8Array(256);
for (const byte of [0x00, 0x09, 0x0a, 0x0c, 0x0d, 0x20]) {
  REGULAR[byte] = 0;
  WHITESPACE[byte] = 1;
}
for (const char of '()<>[]{}/%') REGULAR[char.charCodeAt(0)] = 0;

const OBJ = Buffer.from('obj', 'latin1');
const STREAM = Buffer.from('stream', 'latin1');
const ENDSTREAM = Buffer.from('endstream', 'latin1');

/**
 * @typedef {object} ScanState
 * @property {number} decoded bytes decoded from streams so far
 * @property {number} work bytes lexed in dictionaries and read as stream data
 * @property {number} workLimit
 * @property {boolean} encrypted an /Encrypt entry was seen
 * @property {string | null} uncheckable why an object stream could not be decoded
 * @property {Map<string, number> | null} indirectNumbers `N G obj <number> endobj` in the file
 */

/** @param {number} byte */
function hexValue(byte) {
  if (byte >= 0x30 && byte <= 0x39) return byte - 0x30;
  if (byte >= 0x41 && byte <= 0x46) return byte - 0x37;
  if (byte >= 0x61 && byte <= 0x66) return byte - 0x57;
  return -1;
}

/**
 * A name with `#xx` escapes decoded (§7.3.5), as Latin-1: `/J#61vaScript` is `/JavaScript` to
 * every PDF reader, so it must be to this scan.
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
 * @param {Uint8Array} bytes
 * @param {number} start
 * @param {number} end
 */
function latin1(bytes, start, end) {
  let text = '';
  for (let i = start; i < end; i += 1)
    text += String.fromCharCode(/** @type {number} */ (bytes[i]));
  return text;
}

/**
 * @param {Uint8Array} bytes
 * @param {number} at
 * @param {Uint8Array} word
 */
function hasWordAt(bytes, at, word) {
  if (at + word.length > bytes.length) return false;
  for (let k = 0; k < word.length; k += 1) if (bytes[at + k] !== word[k]) return false;
  return true;
}

/**
 * Looks at every name in `bytes`. `/JS` and `/XFA` count only outside stream data (see
 * FLAGGED_NAMES); in decoded object streams, which hold nothing but objects, everything counts.
 * Literal strings are not skipped: a reader that repairs a file may parse objects that a
 * string-aware scan would have taken for string content.
 *
 * @param {Buffer} bytes
 * @param {ScanState} state
 * @param {{ objectStreamContent: boolean }} options
 * @returns {Rejected | null}
 */
function scanNames(bytes, state, options) {
  const n = bytes.length;
  let streamEnd = -1; // while i < streamEnd, i is inside stream data
  let i = 0;
  while (i < n) {
    const byte = /** @type {number} */ (bytes[i]);
    if (byte === 0x2f) {
      let end = i + 1;
      while (end < n && REGULAR[/** @type {number} */ (bytes[end])]) end += 1;
      if (
        end - i - 1 <= MAX_INTERESTING_NAME_LENGTH &&
        CANDIDATE_INITIAL[/** @type {number} */ (bytes[i + 1])]
      ) {
        const name = decodeName(bytes, i + 1, end);
        const flag = flagged(name);
        if (flag && !(flag.short && i < streamEnd)) {
          const raw = Buffer.from(bytes.subarray(i, end)).toString('latin1');
          const written = raw === `/${name}` ? '' : `, written ${raw}`;
          return found(flag.kind, `the name /${name} appears in the file${written}`);
        }
        if (name === 'Encrypt') state.encrypted = true;
      }
      i = end;
    } else if (
      byte === 0x73 &&
      !options.objectStreamContent &&
      i >= streamEnd &&
      hasWordAt(bytes, i, STREAM) &&
      (i === 0 || !REGULAR[/** @type {number} */ (bytes[i - 1])]) &&
      !REGULAR[bytes[i + STREAM.length] ?? 0x20]
    ) {
      const start = i + STREAM.length;
      const endAt = bytes.indexOf(ENDSTREAM, start);
      streamEnd = endAt === -1 ? n : endAt;
      i = start;
    } else {
      i += 1;
    }
  }
  return null;
}

/**
 * @typedef {{ type: 'name', name: string }
 *   | { type: 'number', value: number }
 *   | { type: 'ref', num: number, gen: number }
 *   | { type: 'dict', entries: Map<string, PdfValue> }
 *   | { type: 'array', items: PdfValue[] }
 *   | { type: 'other', word?: string }} PdfValue
 */

/**
 * Just enough of a PDF lexer and parser (§7.2, §7.3) to read a stream's dictionary the way
 * pdf.js does: white space and comments between tokens, nested dictionaries and arrays,
 * literal and hex strings, indirect references.
 */
class DictionaryReader {
  /**
   * @param {Uint8Array} bytes
   * @param {number} start
   * @param {number} end
   */
  constructor(bytes, start, end) {
    this.bytes = bytes;
    this.pos = start;
    this.end = end;
    /** @type {Array<{ kind: string, value: string }>} */
    this.peeked = [];
    /** A value was nested deeper than MAX_NESTING: the reader gave up, not the document. */
    this.tooDeep = false;
  }

  skipSpace() {
    const { bytes, end } = this;
    while (this.pos < end) {
      const byte = /** @type {number} */ (bytes[this.pos]);
      if (byte === 0x25) {
        while (this.pos < end && bytes[this.pos] !== 0x0a && bytes[this.pos] !== 0x0d) {
          this.pos += 1;
        }
      } else if (WHITESPACE[byte]) {
        this.pos += 1;
      } else {
        return;
      }
    }
  }

  /** @returns {{ kind: string, value: string } | null} */
  lex() {
    const { bytes, end } = this;
    this.skipSpace();
    if (this.pos >= end) return null;
    const byte = /** @type {number} */ (bytes[this.pos]);
    const next = bytes[this.pos + 1];
    if (byte === 0x2f) {
      let stop = this.pos + 1;
      while (stop < end && REGULAR[/** @type {number} */ (bytes[stop])]) stop += 1;
      // Only short names matter here (keys and filter names); long ones are not decoded.
      const long = stop - this.pos - 1 > MAX_INTERESTING_NAME_LENGTH;
      const name = long ? '' : decodeName(bytes, this.pos + 1, stop);
      this.pos = stop;
      return { kind: 'name', value: name };
    }
    if (byte === 0x3c && next === 0x3c) {
      this.pos += 2;
      return { kind: '<<', value: '' };
    }
    if (byte === 0x3e && next === 0x3e) {
      this.pos += 2;
      return { kind: '>>', value: '' };
    }
    if (byte === 0x3c) {
      const close = Buffer.from(bytes.buffer, bytes.byteOffset, end).indexOf(0x3e, this.pos);
      if (close === -1) return null;
      this.pos = close + 1;
      return { kind: 'string', value: '' };
    }
    if (byte === 0x28) {
      let depth = 1;
      this.pos += 1;
      while (this.pos < end && depth > 0) {
        const char = bytes[this.pos];
        if (char === 0x5c) this.pos += 1;
        else if (char === 0x28) depth += 1;
        else if (char === 0x29) depth -= 1;
        this.pos += 1;
      }
      return depth === 0 ? { kind: 'string', value: '' } : null;
    }
    if (!REGULAR[byte]) {
      // [ ] { } and stray ) or >: single-character tokens.
      this.pos += 1;
      return { kind: String.fromCharCode(byte), value: '' };
    }
    let stop = this.pos;
    while (stop < end && REGULAR[/** @type {number} */ (bytes[stop])]) stop += 1;
    // Numbers, `R` and `stream` are short; a long word is none of them.
    const word = stop - this.pos > 32 ? '' : latin1(bytes, this.pos, stop);
    this.pos = stop;
    return { kind: 'word', value: word };
  }

  next() {
    return this.peeked.shift() ?? this.lex();
  }

  /** @param {number} ahead */
  peek(ahead) {
    while (this.peeked.length <= ahead) {
      const token = this.lex();
      if (!token) return null;
      this.peeked.push(token);
    }
    return this.peeked[ahead] ?? null;
  }

  /**
   * @param {number} depth
   * @returns {PdfValue | null} null at the end of the input or on a closing bracket
   */
  value(depth) {
    const token = this.next();
    if (!token) return null;
    if (depth > MAX_NESTING) {
      this.tooDeep = true;
      return null;
    }
    if (token.kind === 'name') return { type: 'name', name: token.value };
    if (token.kind === '<<') {
      /** @type {Map<string, PdfValue>} */
      const entries = new Map();
      for (;;) {
        const key = this.next();
        if (!key) return null;
        if (key.kind === '>>') return { type: 'dict', entries };
        if (key.kind !== 'name') continue;
        const value = this.value(depth + 1);
        if (!value) return null;
        entries.set(key.value, value); // the last of repeated keys wins, as in pdf.js
      }
    }
    if (token.kind === '[') {
      /** @type {PdfValue[]} */
      const items = [];
      for (;;) {
        const ahead = this.peek(0);
        if (!ahead) return null;
        if (ahead.kind === ']') {
          this.next();
          return { type: 'array', items };
        }
        const item = this.value(depth + 1);
        if (!item) return null;
        items.push(item);
      }
    }
    if (token.kind === 'word' && /^[+-]?(\d+\.?\d*|\.\d+)$/.test(token.value)) {
      const generation = this.peek(0);
      const r = this.peek(1);
      if (
        /^\d+$/.test(token.value) &&
        generation?.kind === 'word' &&
        /^\d+$/.test(generation.value) &&
        r?.kind === 'word' &&
        r.value === 'R'
      ) {
        this.next();
        this.next();
        return { type: 'ref', num: Number(token.value), gen: Number(generation.value) };
      }
      return { type: 'number', value: Number(token.value) };
    }
    if (token.kind === '>>' || token.kind === ']') return null;
    return { type: 'other', word: token.value };
  }
}

/**
 * How far the streams of one document may expand when decoded. A decompression bomb is a few
 * kilobytes that expand to gigabytes; a scanned letter is a few images that expand to tens of
 * megabytes. Defaults and their reasons: `defaultPdfLimits` in `pdf-inspection.ts`, which
 * sends its limits with every document (these are the same, for calls made directly).
 * @typedef {object} StreamBounds
 * @property {number} maxStreamBytes one stream that is not an image, decoded
 * @property {number} maxImageBytes one image, decoded, and as declared (width × height × 4)
 * @property {number} maxDecodedBytes all streams of the document together, decoded
 */

/** @type {Readonly<StreamBounds>} */
export const DEFAULT_STREAM_BOUNDS = Object.freeze({
  maxStreamBytes: 64 * 1024 * 1024,
  maxImageBytes: 160 * 1024 * 1024,
  maxDecodedBytes: 1024 * 1024 * 1024,
});

/** A chain longer than this is not one a PDF writer produced (they use one or two). */
const MAX_FILTERS = 8;

/** @param {PdfValue | undefined} value */
function nameOf(value) {
  return value?.type === 'name' ? value.name : undefined;
}

/**
 * What a stream is, as far as its dictionary tells, to pick its bound and to name it in the
 * refusal. Page content streams carry no type, so "content stream" is what is left over.
 * @param {Map<string, PdfValue>} entries
 */
function streamKind(entries) {
  const type = nameOf(entries.get('Type'));
  const subtype = nameOf(entries.get('Subtype'));
  if (subtype === 'Image' || (entries.has('Width') && entries.has('Height'))) return 'image';
  if (type === 'ObjStm' || (entries.has('First') && entries.has('N'))) return 'object stream';
  if (type === 'Metadata' || subtype === 'XML') return 'metadata stream';
  if (type === 'XRef') return 'cross-reference stream';
  if (subtype === 'Form' || entries.has('BBox')) return 'form XObject or appearance stream';
  if (
    entries.has('Length1') ||
    entries.has('Length2') ||
    subtype === 'Type1C' ||
    subtype === 'CIDFontType0C' ||
    subtype === 'OpenType'
  ) {
    return 'font';
  }
  return 'content stream';
}

/** @param {number} bytes */
function mib(bytes) {
  return `${Math.round((bytes / 1024 / 1024) * 10) / 10} MiB`;
}

/**
 * @param {string} what
 * @param {string} bound
 * @returns {Rejected}
 */
function bomb(what, bound) {
  return {
    outcome: 'rejected',
    reason: `The PDF is refused as a decompression bomb: ${what}; ${bound}. A letter’s streams do not expand this far.`,
  };
}

/**
 * @typedef {object} ScannedStream
 * @property {string} label e.g. "object 12"
 * @property {Map<string, PdfValue>} entries
 * @property {number} start where its data starts
 */

/**
 * Every stream a reader could find: each `obj` keyword followed by a dictionary and `stream`,
 * wherever it is (a reader repairing a broken cross-reference table finds objects anywhere),
 * and however long its dictionary is. Each stream's filters are decoded within its bound;
 * object streams' content is scanned for names as well.
 *
 * @param {Buffer} bytes
 * @param {ScanState} state
 * @param {StreamBounds} bounds
 * @returns {Promise<Rejected | null>}
 */
async function scanStreams(bytes, state, bounds) {
  let nextStream = bytes.indexOf(STREAM);
  for (let at = bytes.indexOf(OBJ); at !== -1; at = bytes.indexOf(OBJ, at + OBJ.length)) {
    const after = at + OBJ.length;
    if (after < bytes.length && REGULAR[/** @type {number} */ (bytes[after])]) continue;
    // Cheap test first: with no `stream` after it, this object is no stream.
    if (nextStream !== -1 && nextStream < after) nextStream = bytes.indexOf(STREAM, after);
    if (nextStream === -1) break;
    const reader = new DictionaryReader(bytes, after, bytes.length);
    reader.skipSpace();
    if (bytes[reader.pos] !== 0x3c || bytes[reader.pos + 1] !== 0x3c) continue;
    const dict = reader.value(0);
    state.work += reader.pos - after;
    if (state.work > state.workLimit) return uncheckable(CONVOLUTED);
    if (reader.tooDeep) return uncheckable('a dictionary is nested too deeply');
    if (dict?.type !== 'dict') continue;
    const keyword = reader.next();
    if (keyword?.kind !== 'word' || keyword.value !== 'stream') continue;

    // The data starts on the line after `stream`, as pdf.js's Lexer.skipToNextLine reads it.
    let start = reader.pos;
    while (start < bytes.length && bytes[start] !== 0x0a && bytes[start] !== 0x0d) start += 1;
    if (bytes[start] === 0x0d && bytes[start + 1] === 0x0a) start += 2;
    else start += 1;

    const stream = { label: objectLabel(bytes, at), entries: dict.entries, start };
    const verdict = await checkStream(bytes, stream, state, bounds);
    if (verdict) return verdict;
  }
  return null;
}

const CONVOLUTED = 'its structure is too convoluted to scan';

/**
 * "object 12" for the `12 0 obj` that ends at `at`, or "an object" when no number precedes it.
 * @param {Buffer} bytes
 * @param {number} at
 */
function objectLabel(bytes, at) {
  const before = latin1(bytes, Math.max(0, at - 24), at);
  const number = /(\d+)\s+\d+\s*$/.exec(before)?.[1];
  return number === undefined ? 'an object' : `object ${number}`;
}

/**
 * @param {Buffer} bytes
 * @param {ScannedStream} stream
 * @param {ScanState} state
 * @param {StreamBounds} bounds
 * @returns {Promise<Rejected | null>}
 */
async function checkStream(bytes, stream, state, bounds) {
  const kind = streamKind(stream.entries);
  const chain = filterChain(stream.entries);
  if (typeof chain === 'string') return uncheckable(chain);
  const data = streamData(bytes, stream, chain.filters.length > 0, state);

  if (kind === 'object stream') {
    const decoded = await decodeObjectStream(data, stream.entries, chain, state, bounds);
    if (typeof decoded === 'string') {
      state.uncheckable ??= decoded;
      return null;
    }
    if (!Buffer.isBuffer(decoded)) return decoded;
    return scanNames(decoded, state, { objectStreamContent: true });
  }

  const imageBound = kind === 'image';
  const perStream = imageBound ? bounds.maxImageBytes : bounds.maxStreamBytes;
  /** @type {Buffer} */
  let head = Buffer.alloc(0);
  if (chain.filters.length > 0) {
    const documentLeft = bounds.maxDecodedBytes - state.decoded;
    const limit = Math.min(perStream, documentLeft);
    const small = decodeSmallFlateChain(data, chain.filters);
    const counted = small
      ? { bytes: small.length, exceeded: small.length > limit }
      : await countBytes(
          capture(decodeChain(readInput(data, state), chain.filters), (chunk) => {
            if (head.length < 1024) head = Buffer.concat([head, chunk.subarray(0, 1024)]);
          }),
          limit,
        );
    if (small) head = small.subarray(0, 1024);
    state.decoded += counted.bytes;
    if (state.work > state.workLimit) return uncheckable(CONVOLUTED);
    if (counted.exceeded) {
      return perStream <= documentLeft
        ? bomb(
            `${article(kind)} (${stream.label}) expands to more than ${mib(perStream)}`,
            `at most ${mib(perStream)} are accepted for one ${kind === 'image' ? 'image' : 'stream'}`,
          )
        : bomb(
            `its streams together expand to more than ${mib(bounds.maxDecodedBytes)}`,
            `at most ${mib(bounds.maxDecodedBytes)} are accepted for one document`,
          );
    }
  } else {
    head = data.subarray(0, 1024);
  }
  if (kind === 'image') return checkDeclaredImage(stream, chain.codec, head, bounds);
  return null;
}

/** @param {string} kind */
function article(kind) {
  return /^[aeiou]/.test(kind) ? `an ${kind}` : `a ${kind}`;
}

/**
 * Calls `seen` with each chunk as it passes.
 * @param {import('./pdf-stream-decoding.mjs').Chunks} chunks
 * @param {(chunk: Buffer) => void} seen
 * @returns {import('./pdf-stream-decoding.mjs').Chunks}
 */
async function* capture(chunks, seen) {
  for await (const chunk of chunks) {
    seen(chunk);
    yield chunk;
  }
}

/**
 * The stream's raw data, counted as work while it is read; reading stops (as if the data
 * ended there) once the document's work is used up, and the caller refuses it.
 * @param {Buffer} data
 * @param {ScanState} state
 * @returns {import('./pdf-stream-decoding.mjs').Chunks}
 */
async function* readInput(data, state) {
  for await (const chunk of chunksOf(data)) {
    state.work += chunk.length;
    if (state.work > state.workLimit) return;
    yield chunk;
  }
}

/**
 * The image codecs are decoded only when the image is drawn, into width × height pixels of
 * four bytes (RGBA) each: bound that, by the larger of the dictionary's size and the size the
 * codec's own header declares (pdf.js sizes JPEG and JPEG 2000 images by their headers).
 * @param {ScannedStream} stream
 * @param {string | null} codec
 * @param {Buffer} head the first bytes of the data the codec reads
 * @param {StreamBounds} bounds
 * @returns {Rejected | null}
 */
function checkDeclaredImage(stream, codec, head, bounds) {
  const width = stream.entries.get('Width');
  const height = stream.entries.get('Height');
  /** @type {Array<[number, number]>} */
  const sizes = [];
  if (width?.type === 'number' && height?.type === 'number')
    sizes.push([width.value, height.value]);
  else if (codec) return uncheckable('an image’s /Width or /Height is not a plain number');
  const fromHeader =
    codec === 'DCTDecode' ? jpegSize(head) : codec === 'JPXDecode' ? jpxSize(head) : null;
  if (fromHeader) sizes.push(fromHeader);
  for (const [w, h] of sizes) {
    const bytes = Math.abs(w) * Math.abs(h) * 4;
    if (bytes > bounds.maxImageBytes) {
      return bomb(
        `an image (${stream.label}) declares ${Math.abs(w)} × ${Math.abs(h)} pixels, ${mib(bytes)} when displayed`,
        `at most ${mib(bounds.maxImageBytes)} are accepted for one image`,
      );
    }
  }
  return null;
}

/**
 * Width and height from a JPEG's start-of-frame marker (ITU T.81 B.2.2), or null.
 * @param {Buffer} head
 * @returns {[number, number] | null}
 */
function jpegSize(head) {
  let pos = 2; // after SOI
  while (pos + 9 < head.length) {
    if (head[pos] !== 0xff) return null;
    const marker = /** @type {number} */ (head[pos + 1]);
    if (marker === 0xff) {
      pos += 1; // fill byte
      continue;
    }
    const isFrame = marker >= 0xc0 && marker <= 0xcf && ![0xc4, 0xc8, 0xcc].includes(marker);
    if (isFrame) return [head.readUInt16BE(pos + 7), head.readUInt16BE(pos + 5)];
    if ((marker >= 0xd0 && marker <= 0xd9) || marker === 0x01) pos += 2;
    else pos += 2 + head.readUInt16BE(pos + 2);
  }
  return null;
}

/**
 * Width and height from a JPEG 2000 image header box or codestream SIZ marker, or null.
 * @param {Buffer} head
 * @returns {[number, number] | null}
 */
function jpxSize(head) {
  const ihdr = head.indexOf('ihdr', 0, 'latin1');
  if (ihdr !== -1 && ihdr + 12 <= head.length) {
    return [head.readUInt32BE(ihdr + 8), head.readUInt32BE(ihdr + 4)];
  }
  const siz = head.indexOf(Buffer.from([0xff, 0x51]));
  if (siz !== -1 && siz + 22 <= head.length) {
    return [
      head.readUInt32BE(siz + 6) - head.readUInt32BE(siz + 14),
      head.readUInt32BE(siz + 10) - head.readUInt32BE(siz + 18),
    ];
  }
  return null;
}

/**
 * @typedef {object} FilterChain
 * @property {import('./pdf-stream-decoding.mjs').Filter[]} filters the ones decoded here, in order
 * @property {string | null} codec the image codec the chain ends in, if any
 * @property {boolean} predictor a filter has a predictor (the size bound needs none: a
 *   predictor never makes data larger)
 */

/**
 * A stream's filters as pdf.js applies them: /F before /Filter, /DP before /DecodeParms, names
 * it does not know passed over (pdf.js leaves the data as it is), and decoding ends at an
 * image codec, which only drawing decodes.
 * @param {Map<string, PdfValue>} entries
 * @returns {FilterChain | string} the chain, or why it cannot be checked
 */
function filterChain(entries) {
  const filter = entries.get('F') ?? entries.get('Filter');
  const parameters = entries.get('DP') ?? entries.get('DecodeParms');
  /** @type {string[]} */
  let names;
  if (!filter || filter.type === 'dict' || filter.type === 'other') names = [];
  else if (filter.type === 'name') names = [filter.name];
  else if (filter.type === 'array' && filter.items.every((item) => item.type === 'name')) {
    names = filter.items.map((item) => /** @type {{ name: string }} */ (item).name);
  } else return 'a stream’s /Filter is indirect or malformed';
  if (names.length > MAX_FILTERS) return `a stream has more than ${MAX_FILTERS} filters`;
  /** @type {FilterChain} */
  const chain = { filters: [], codec: null, predictor: false };
  for (const [index, name] of names.entries()) {
    const codec = IMAGE_CODECS.get(name);
    if (codec) {
      chain.codec = codec;
      break;
    }
    if (!DECODABLE_FILTERS.has(name)) continue;
    const parameter = parameters?.type === 'array' ? parameters.items[index] : parameters;
    if (parameter && usesPredictor(parameter)) chain.predictor = true;
    const earlyChange =
      parameter?.type === 'dict' ? parameter.entries.get('EarlyChange') : undefined;
    chain.filters.push({
      name,
      earlyChange: earlyChange?.type === 'number' ? earlyChange.value : 1,
    });
  }
  return chain;
}

/**
 * The stream's raw data: exactly /Length bytes when /Length (direct, or an indirect number
 * found in the file) ends at `endstream`, as pdf.js checks it; otherwise, for filtered data,
 * everything to the end of the file (the filters end themselves, so a wrong /Length or a fake
 * `endstream` inside the data cannot cut the scan short: it reads at least what pdf.js reads),
 * and for unfiltered data, up to the next `endstream`.
 * @param {Buffer} bytes
 * @param {ScannedStream} stream
 * @param {boolean} filtered
 * @param {ScanState} state
 */
function streamData(bytes, stream, filtered, state) {
  const length = numberValue(stream.entries.get('Length'), bytes, state);
  if (length !== null && Number.isInteger(length) && length >= 0) {
    const end = stream.start + length;
    if (end <= bytes.length) {
      const reader = new DictionaryReader(bytes, end, Math.min(bytes.length, end + 64));
      const next = reader.next();
      if (next?.kind === 'word' && next.value === 'endstream') {
        return bytes.subarray(stream.start, end);
      }
    }
  }
  if (filtered) return bytes.subarray(stream.start);
  const endAt = bytes.indexOf(ENDSTREAM, stream.start);
  return bytes.subarray(stream.start, endAt === -1 ? bytes.length : endAt);
}

/**
 * A direct number, or an indirect one that a `N G obj <number> endobj` in the file holds (the
 * last such definition, as an incremental update would leave it).
 * @param {PdfValue | undefined} value
 * @param {Buffer} bytes
 * @param {ScanState} state
 * @returns {number | null}
 */
function numberValue(value, bytes, state) {
  if (value?.type === 'number') return value.value;
  if (value?.type !== 'ref') return null;
  if (!state.indirectNumbers) {
    state.indirectNumbers = new Map();
    const pattern = /(?<![0-9])(\d+)\s+(\d+)\s+obj\s*(\d+)\s*endobj/g;
    for (const match of bytes.toString('latin1').matchAll(pattern)) {
      state.indirectNumbers.set(`${match[1]} ${match[2]}`, Number(match[3]));
    }
  }
  return state.indirectNumbers.get(`${value.num} ${value.gen}`) ?? null;
}

/** The filters the scan decodes an object stream's content through, to read its names. */
const OBJECT_STREAM_FILTERS = new Set(['FlateDecode', 'ASCIIHexDecode', 'ASCII85Decode']);

/**
 * Decodes an object stream's content within the stream and document bounds.
 * @param {Buffer} data
 * @param {Map<string, PdfValue>} entries
 * @param {FilterChain} chain
 * @param {ScanState} state
 * @param {StreamBounds} bounds
 * @returns {Promise<Buffer | Rejected | string>} the content, a refusal, or why it cannot be checked
 */
async function decodeObjectStream(data, entries, chain, state, bounds) {
  const filter = entries.get('F') ?? entries.get('Filter');
  const names =
    filter?.type === 'array'
      ? filter.items.map((item) => (item.type === 'name' ? item.name : ''))
      : filter?.type === 'name'
        ? [filter.name]
        : [];
  const unsupported = names.find(
    (name) => !OBJECT_STREAM_FILTERS.has(DECODABLE_FILTERS.get(name) ?? ''),
  );
  if (unsupported !== undefined) {
    return `an object stream is encoded with /${unsupported}, which this check does not decode`;
  }
  if (chain.predictor) return 'an object stream uses a predictor, which this check does not decode';
  if (chain.filters.length === 0) return data;
  const documentLeft = bounds.maxDecodedBytes - state.decoded;
  const limit = Math.min(bounds.maxStreamBytes, documentLeft);
  try {
    const small = decodeSmallFlateChain(data, chain.filters);
    const decoded =
      small && small.length <= limit
        ? small
        : small
          ? null
          : await collectBytes(decodeChain(readInput(data, state), chain.filters), limit);
    if (state.work > state.workLimit) return CONVOLUTED;
    if (!decoded) {
      return limit === bounds.maxStreamBytes
        ? bomb(
            `an object stream expands to more than ${mib(limit)}`,
            `at most ${mib(limit)} are accepted for one stream`,
          )
        : bomb(
            `its streams together expand to more than ${mib(bounds.maxDecodedBytes)}`,
            `at most ${mib(bounds.maxDecodedBytes)} are accepted for one document`,
          );
    }
    state.decoded += decoded.length;
    return decoded;
  } catch (error) {
    if (error instanceof DamagedData) return 'an object stream’s compressed data is damaged';
    throw error;
  }
}

/** @param {PdfValue} parameters */
function usesPredictor(parameters) {
  if (parameters.type === 'ref') return true;
  if (parameters.type === 'array') return parameters.items.some(usesPredictor);
  if (parameters.type !== 'dict') return false;
  const predictor = parameters.entries.get('Predictor');
  return predictor !== undefined && !(predictor.type === 'number' && predictor.value <= 1);
}

/**
 * Layer 1 alone: what a scan of the bytes finds, or null when it finds nothing to refuse.
 * @param {Uint8Array} bytes
 * @param {Partial<StreamBounds>} [bounds]
 * @returns {Promise<Rejected | null>}
 */
export async function scanPdfBytes(bytes, bounds = {}) {
  const buffer = Buffer.from(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  /** @type {ScanState} */
  const state = {
    decoded: 0,
    work: 0,
    // Every byte is read by the name scan and once as stream data or a dictionary; the
    // slack covers filters reading a little past a stream's end.
    workLimit: 4 * buffer.length + 1024 * 1024,
    encrypted: false,
    uncheckable: null,
    indirectNumbers: null,
  };
  const verdict =
    scanNames(buffer, state, { objectStreamContent: false }) ??
    (await scanStreams(buffer, state, { ...DEFAULT_STREAM_BOUNDS, ...bounds }));
  if (verdict) return verdict;
  // Encrypted object streams cannot be decoded: say why, rather than that they are damaged.
  if (state.encrypted) return ENCRYPTED;
  if (state.uncheckable) return uncheckable(state.uncheckable);
  return null;
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

/** @param {unknown} error @returns {Rejected} */
function unreadable(error) {
  return {
    outcome: 'rejected',
    reason: 'The PDF could not be read: it is damaged, truncated or not a PDF.',
    logReason: String(/** @type {{ message?: string }} */ (error)?.message ?? error),
  };
}

/**
 * Layer 2 alone: opens the document with pdf.js and asks it what the document contains.
 * pdf.js takes ownership of `bytes` (their buffer may be detached afterwards).
 * @param {Uint8Array} bytes
 * @param {number} maxPages
 * @returns {Promise<Verdict>}
 */
export async function inspectWithPdfjs(bytes, maxPages) {
  const loadingTask = getDocument({
    data: bytes,
    // Security invariant 7: pdf.js never compiles code taken from the document.
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
      if (/** @type {{ name?: string }} */ (error)?.name === 'PasswordException') {
        return { ...ENCRYPTED, logReason: String(error) };
      }
      return unreadable(error);
    }

    const pageCount = doc.numPages;
    if (pageCount < 1) return { outcome: 'rejected', reason: 'The PDF has no pages.' };
    if (pageCount > maxPages) {
      return {
        outcome: 'rejected',
        reason: `The PDF has ${pageCount} pages; at most ${maxPages} are accepted.`,
      };
    }

    const info = /** @type {Record<string, unknown>} */ ((await doc.getMetadata()).info);
    if (info.EncryptFilterName) return ENCRYPTED;
    if (info.IsXFAPresent === true) return found('xfa', 'in the interactive form');
    if (info.IsCollectionPresent === true) return found('embeddedFile', 'a PDF portfolio');

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
    for (const list of Object.values(fields ?? {})) {
      for (const field of list) {
        if (isNonEmpty(/** @type {{ actions?: unknown }} */ (field).actions)) {
          return found('javascript', 'form field actions');
        }
      }
    }

    for (let pageNumber = 1; pageNumber <= pageCount; pageNumber += 1) {
      const page = await doc.getPage(pageNumber);
      try {
        if (isNonEmpty(await page.getJSActions())) {
          return found('javascript', `page actions on page ${pageNumber}`);
        }
        // 'any': hidden and non-printing annotations too.
        for (const annotation of await page.getAnnotations({ intent: 'any' })) {
          const where = `a ${annotation.subtype ?? 'malformed'} annotation on page ${pageNumber}`;
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
  } catch (error) {
    // pdf.js failed part-way (a broken page tree, a bad annotation): the document is unusable.
    return unreadable(error);
  } finally {
    await loadingTask.destroy();
  }
}

/**
 * Both layers: the byte scan first (it bounds every stream, so pdf.js never decodes a bomb,
 * and it keeps pdf.js away from what it already refuses), then pdf.js.
 * @param {Uint8Array} bytes
 * @param {number} maxPages
 * @param {Partial<StreamBounds>} [bounds]
 * @returns {Promise<Verdict>}
 */
export async function inspectPdf(bytes, maxPages, bounds = {}) {
  return (await scanPdfBytes(bytes, bounds)) ?? (await inspectWithPdfjs(bytes, maxPages));
}

/** The pool starts this script with this argument; importing it (tests, bench) starts nothing. */
export const CHILD_FLAG = '--kuvert-pdf-inspection';

if (process.argv.includes(CHILD_FLAG) && process.send) {
  const send = process.send.bind(process);
  process.on(
    'message',
    async (
      /** @type {{ id: number, bytes: Uint8Array, maxPages: number, bounds: StreamBounds }} */ job,
    ) => {
      const bytes = new Uint8Array(job.bytes.buffer, job.bytes.byteOffset, job.bytes.byteLength);
      /** @type {Verdict} */
      let verdict;
      try {
        verdict = await inspectPdf(bytes, job.maxPages, job.bounds);
      } catch (error) {
        verdict = unreadable(error); // a fault of ours or pdf.js's: refuse, and keep serving
      }
      // maxRSS is in KiB: this process's peak resident memory so far, for the pool's figures.
      const peakRssBytes = process.resourceUsage().maxRSS * 1024;
      send({ type: 'result', id: job.id, peakRssBytes, ...verdict });
    },
  );
  // The pool went away: nothing is left to answer to.
  process.on('disconnect', () => process.exit(0));
  send({ type: 'ready' });
}
