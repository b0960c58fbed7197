// @ts-check
/**
 * PDF inspection worker (security invariant 7). Runs in a `node:worker_threads` thread owned by
 * the pool in `pdf-inspection.ts`, one document at a time, so that pdf.js never blocks the
 * server's event loop and a hostile document can be stopped by terminating the thread.
 *
 * Why plain JavaScript: this file is loaded by `new Worker(url)`, and a worker thread does not
 * get the TypeScript loader of its parent. Under `node --import tsx` a `.ts` worker would load,
 * but inside vitest test files are transformed by Vite while a worker thread is plain Node,
 * which cannot load TypeScript. A `.mjs` file with JSDoc types loads the same way everywhere
 * (server, CLI, tests, benchmark) with no build step.
 *
 * Protocol (structured-clone messages):
 *   worker → pool: `{ type: 'ready' }` once pdf.js is loaded;
 *   pool → worker: `{ id, bytes, maxPages }` (the bytes' buffer is transferred);
 *   worker → pool: `{ type: 'result', id, outcome: 'accepted', pageCount }` or
 *                  `{ type: 'result', id, outcome: 'rejected', reason, logReason? }`.
 *
 * Two independent layers, because each misses things the other sees:
 *   1. `scanPdfBytes`: a scan of the bytes for names that mark active or embedded content,
 *      `#xx` escapes decoded, including inside every object stream (whose filters it decodes,
 *      refusing any it cannot). It finds what pdf.js's API never reports (JavaScript in links
 *      and bookmarks, Launch actions, objects reachable only after xref repair).
 *   2. `inspectWithPdfjs`: pdf.js itself, the parser the web app displays letters with, which
 *      resolves the document's structure and reports document, page, annotation and form-field
 *      JavaScript, attachments, XFA and encryption through its API. Nothing is rendered: no
 *      fonts, images or operator lists are loaded.
 */
import { parentPort } from 'node:worker_threads';
import { inflateRawSync } from 'node:zlib';
import { AnnotationType, getDocument, VerbosityLevel } from 'pdfjs-dist/legacy/build/pdf.mjs';
// @ts-expect-error pdfjs-dist ships no type declarations for its worker entry point.
import * as pdfjsWorker from 'pdfjs-dist/legacy/build/pdf.worker.mjs';

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

/** Total bytes the scan may decode from object streams, per document. */
const MAX_DECODED_BYTES = 64 * 1024 * 1024;
/** A stream dictionary larger than this is not one a PDF writer produced. */
const MAX_DICTIONARY_BYTES = 64 * 1024;
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
 * @property {number} decoded bytes decoded from object streams so far
 * @property {number} work bytes lexed while reading stream dictionaries
 * @property {number} workLimit
 * @property {boolean} encrypted an /Encrypt entry was seen
 * @property {string | null} uncheckable why an object stream could not be decoded
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
 *   | { type: 'ref' }
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
    if (!token || depth > 32) return null;
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
        return { type: 'ref' };
      }
      return { type: 'number', value: Number(token.value) };
    }
    if (token.kind === '>>' || token.kind === ']') return null;
    return { type: 'other', word: token.value };
  }
}

/**
 * Every place a reader could find an object stream: each `obj` keyword followed by a dictionary
 * and `stream`, wherever it is (a reader repairing a broken cross-reference table finds objects
 * anywhere), whose dictionary has /First and /N (what pdf.js requires) or /Type /ObjStm.
 *
 * @param {Buffer} bytes
 * @param {ScanState} state
 * @returns {Rejected | null}
 */
function scanObjectStreams(bytes, state) {
  let nextStream = bytes.indexOf(STREAM);
  for (let at = bytes.indexOf(OBJ); at !== -1; at = bytes.indexOf(OBJ, at + OBJ.length)) {
    const after = at + OBJ.length;
    if (after < bytes.length && REGULAR[/** @type {number} */ (bytes[after])]) continue;
    // Cheap test first: with no `stream` within reach, this object is no stream.
    if (nextStream !== -1 && nextStream < after) nextStream = bytes.indexOf(STREAM, after);
    if (nextStream === -1) break;
    if (nextStream > after + MAX_DICTIONARY_BYTES) continue;
    const end = Math.min(bytes.length, after + MAX_DICTIONARY_BYTES);
    const reader = new DictionaryReader(bytes, after, end);
    reader.skipSpace();
    if (bytes[reader.pos] !== 0x3c || bytes[reader.pos + 1] !== 0x3c) continue;
    const dict = reader.value(0);
    state.work += reader.pos - after;
    if (state.work > state.workLimit) {
      return uncheckable('its structure is too convoluted to scan');
    }
    if (dict?.type !== 'dict') continue;
    const keyword = reader.next();
    if (keyword?.kind !== 'word' || keyword.value !== 'stream') continue;
    const type = dict.entries.get('Type');
    const isObjectStream =
      (type?.type === 'name' && type.name === 'ObjStm') ||
      (dict.entries.has('First') && dict.entries.has('N'));
    if (!isObjectStream) continue;

    // The data starts on the line after `stream`, as pdf.js's Lexer.skipToNextLine reads it.
    let start = reader.pos;
    while (start < bytes.length && bytes[start] !== 0x0a && bytes[start] !== 0x0d) start += 1;
    if (bytes[start] === 0x0d && bytes[start + 1] === 0x0a) start += 2;
    else start += 1;

    const decoded = decodeObjectStream(bytes, start, dict.entries, state);
    if (typeof decoded === 'string') {
      state.uncheckable ??= decoded;
      continue;
    }
    const verdict = scanNames(decoded, state, { objectStreamContent: true });
    if (verdict) return verdict;
  }
  return null;
}

const SUPPORTED_FILTERS = new Set([
  'FlateDecode',
  'Fl',
  'ASCIIHexDecode',
  'AHx',
  'ASCII85Decode',
  'A85',
]);

/**
 * Decodes an object stream's data with its filters. The data runs to the end of the file:
 * these filters end themselves (Flate's final block, `>`, `~>`), so a wrong /Length or a fake
 * `endstream` inside the data cannot cut the scan short.
 *
 * @param {Buffer} bytes
 * @param {number} start
 * @param {Map<string, PdfValue>} entries
 * @param {ScanState} state
 * @returns {Buffer | string} the decoded bytes, or why they cannot be checked
 */
function decodeObjectStream(bytes, start, entries, state) {
  // pdf.js reads /F before /Filter and /DP before /DecodeParms.
  const filter = entries.get('F') ?? entries.get('Filter');
  const parameters = entries.get('DP') ?? entries.get('DecodeParms');
  /** @type {string[]} */
  let filters;
  if (!filter) filters = [];
  else if (filter.type === 'name') filters = [filter.name];
  else if (filter.type === 'array' && filter.items.every((item) => item.type === 'name')) {
    filters = filter.items.map((item) => /** @type {{ name: string }} */ (item).name);
  } else return 'an object stream’s /Filter is indirect or malformed';
  const unsupported = filters.find((name) => !SUPPORTED_FILTERS.has(name));
  if (unsupported !== undefined) {
    return `an object stream is encoded with /${unsupported}, which this check does not decode`;
  }
  if (parameters && usesPredictor(parameters)) {
    return 'an object stream uses a predictor, which this check does not decode';
  }

  /** @type {Buffer} */
  let data;
  if (filters.length === 0) {
    // Unfiltered: the plain bytes up to `endstream` (the rest is scanned as file bytes anyway).
    const endAt = bytes.indexOf(ENDSTREAM, start);
    data = bytes.subarray(start, endAt === -1 ? bytes.length : endAt);
  } else {
    data = bytes.subarray(start);
  }
  for (const name of filters) {
    const remaining = MAX_DECODED_BYTES - state.decoded;
    if (name === 'FlateDecode' || name === 'Fl') {
      const inflated = inflate(data, remaining);
      if (typeof inflated === 'string') return inflated;
      data = inflated;
    } else if (name === 'ASCIIHexDecode' || name === 'AHx') {
      data = asciiHexDecode(data, state);
    } else {
      const decoded = ascii85Decode(data, remaining, state);
      if (!decoded) return `an object stream expands to more than ${MAX_DECODED_BYTES >> 20} MiB`;
      data = decoded;
    }
    if (state.work > state.workLimit) return 'its structure is too convoluted to scan';
  }
  state.decoded += data.length;
  if (state.decoded > MAX_DECODED_BYTES) {
    return `an object stream expands to more than ${MAX_DECODED_BYTES >> 20} MiB`;
  }
  return data;
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
 * zlib data as pdf.js reads it: the two-byte header checked, the deflate data inflated, the
 * trailing Adler-32 checksum ignored (pdf.js does not verify it, so neither may we refuse to
 * look at data whose checksum is wrong).
 * @param {Buffer} data
 * @param {number} limit
 * @returns {Buffer | string}
 */
function inflate(data, limit) {
  const cmf = data[0];
  const flg = data[1];
  if (
    cmf === undefined ||
    flg === undefined ||
    (cmf & 0x0f) !== 0x08 ||
    ((cmf << 8) + flg) % 31 !== 0 ||
    flg & 0x20
  ) {
    return 'an object stream’s compressed data is damaged';
  }
  try {
    return inflateRawSync(data.subarray(2), { maxOutputLength: Math.max(limit, 1) });
  } catch (error) {
    if (/** @type {{ code?: string }} */ (error).code === 'ERR_BUFFER_TOO_LARGE') {
      return `an object stream expands to more than ${MAX_DECODED_BYTES >> 20} MiB`;
    }
    return 'an object stream’s compressed data is damaged';
  }
}

/**
 * ASCIIHexDecode as pdf.js does it: non-hex bytes skipped, `>` ends, a lone digit padded.
 * @param {Buffer} data
 * @param {ScanState} state input bytes read are counted as work
 */
function asciiHexDecode(data, state) {
  const out = Buffer.allocUnsafe((data.length + 1) >> 1);
  let length = 0;
  let high = -1;
  let consumed = 0;
  for (const byte of data) {
    consumed += 1;
    if (byte === 0x3e) break;
    const digit = hexValue(byte);
    if (digit < 0) continue;
    if (high < 0) high = digit;
    else {
      out[length++] = (high << 4) | digit;
      high = -1;
    }
  }
  if (high >= 0) out[length++] = high << 4;
  state.work += consumed;
  return out.subarray(0, length);
}

/**
 * ASCII85Decode as pdf.js's Ascii85Stream does it, down to its treatment of invalid bytes.
 * @param {Buffer} data
 * @param {number} limit
 * @param {ScanState} state input bytes read are counted as work
 * @returns {Buffer | null} null past the limit
 */
function ascii85Decode(data, limit, state) {
  /** @type {Buffer[]} */
  const chunks = [];
  let total = 0;
  let block = Buffer.allocUnsafe(4096);
  let length = 0;
  const push = (/** @type {number} */ byte) => {
    if (length === block.length) {
      chunks.push(block);
      block = Buffer.allocUnsafe(4096);
      length = 0;
    }
    block[length++] = byte;
    total += 1;
  };
  const isSpace = (/** @type {number} */ c) => c === 0x20 || c === 0x09 || c === 0x0d || c === 0x0a;
  let pos = 0;
  const get = () => (pos < data.length ? /** @type {number} */ (data[pos++]) : -1);
  const input = [0, 0, 0, 0, 0];
  for (;;) {
    let c = get();
    while (isSpace(c)) c = get();
    if (c === -1 || c === 0x7e) break;
    if (total + 4 > limit) return null;
    if (c === 0x7a) {
      for (let k = 0; k < 4; k += 1) push(0);
      continue;
    }
    input[0] = c;
    let i = 1;
    for (; i < 5; i += 1) {
      c = get();
      while (isSpace(c)) c = get();
      input[i] = c;
      if (c === -1 || c === 0x7e) break;
    }
    const count = i - 1;
    const last = i < 5;
    for (; i < 5; i += 1) input[i] = 0x21 + 84;
    let t = 0;
    for (const digit of input) t = t * 85 + (digit - 0x21);
    const group = [0, 0, 0, 0];
    for (let k = 3; k >= 0; k -= 1) {
      group[k] = t & 0xff;
      t >>= 8;
    }
    for (let k = 0; k < count; k += 1) push(/** @type {number} */ (group[k]));
    if (last) break;
  }
  chunks.push(block.subarray(0, length));
  state.work += pos;
  return Buffer.concat(chunks);
}

/**
 * Layer 1 alone: what a scan of the bytes finds, or null when it finds nothing to refuse.
 * @param {Uint8Array} bytes
 * @returns {Rejected | null}
 */
export function scanPdfBytes(bytes) {
  const buffer = Buffer.from(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  /** @type {ScanState} */
  const state = {
    decoded: 0,
    work: 0,
    workLimit: 2 * buffer.length + MAX_DICTIONARY_BYTES,
    encrypted: false,
    uncheckable: null,
  };
  const verdict =
    scanNames(buffer, state, { objectStreamContent: false }) ?? scanObjectStreams(buffer, state);
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
 * Both layers: the byte scan first (cheap, and it keeps pdf.js away from what it already
 * refuses), then pdf.js.
 * @param {Uint8Array} bytes
 * @param {number} maxPages
 * @returns {Promise<Verdict>}
 */
export async function inspectPdf(bytes, maxPages) {
  return scanPdfBytes(bytes) ?? (await inspectWithPdfjs(bytes, maxPages));
}

if (parentPort) {
  const port = parentPort;
  port.on(
    'message',
    async (/** @type {{ id: number, bytes: Uint8Array, maxPages: number }} */ job) => {
      const verdict = await inspectPdf(job.bytes, job.maxPages);
      port.postMessage({ type: 'result', id: job.id, ...verdict });
    },
  );
  port.postMessage({ type: 'ready' });
}
