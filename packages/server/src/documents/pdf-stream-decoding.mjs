// @ts-check
/**
 * Bounded decoding of PDF stream filters (ISO 32000-1 §7.4), for the byte scan in
 * `pdf-inspection.worker.mjs`: how many bytes a stream expands to, found without ever holding
 * more than a few chunks of it, and given up on as soon as a bound is passed. A 10 KB file can
 * expand to gigabytes (a chain of two Flate filters multiplies the ratio of each), so nothing
 * here decodes "everything, then looks at the size".
 *
 * Each decoder is an async generator from chunks to chunks of at most CHUNK bytes: the caller
 * pulls, counts, and stops pulling (which stops the whole chain) when the count passes its
 * bound. Flate runs in native zlib; the rest are written here after pdf.js's own decoders, so
 * that they read the data as the viewer will.
 *
 * Plain JavaScript with JSDoc types for the same reason as the worker script: it is loaded by a
 * plain `node` child process, without a TypeScript loader.
 */
import { once } from 'node:events';
import { createInflateRaw, inflateRawSync } from 'node:zlib';

/** Size of the pieces that flow through a decoding chain. */
export const CHUNK = 64 * 1024;

/** The data is not valid for its filter. What was decoded before the fault still counts. */
export class DamagedData extends Error {}

/**
 * The filters that only images use, which pdf.js decodes into pixels when (and only when) it
 * draws the image: their output is bounded by the image's declared size instead.
 */
export const IMAGE_CODECS = new Map([
  ['DCTDecode', 'DCTDecode'],
  ['DCT', 'DCTDecode'],
  ['JPXDecode', 'JPXDecode'],
  ['JBIG2Decode', 'JBIG2Decode'],
  ['CCITTFaxDecode', 'CCITTFaxDecode'],
  ['CCF', 'CCITTFaxDecode'],
]);

/** Filters decoded here, by every name pdf.js accepts for them (abbreviations included). */
export const DECODABLE_FILTERS = new Map([
  ['FlateDecode', 'FlateDecode'],
  ['Fl', 'FlateDecode'],
  ['LZWDecode', 'LZWDecode'],
  ['LZW', 'LZWDecode'],
  ['RunLengthDecode', 'RunLengthDecode'],
  ['RL', 'RunLengthDecode'],
  ['ASCIIHexDecode', 'ASCIIHexDecode'],
  ['AHx', 'ASCIIHexDecode'],
  ['ASCII85Decode', 'ASCII85Decode'],
  ['A85', 'ASCII85Decode'],
]);

/**
 * @typedef {AsyncIterable<Buffer>} Chunks
 * @typedef {{ name: string, earlyChange: number }} Filter
 */

/**
 * The stream's raw data, in CHUNK-sized views (no copies).
 * @param {Buffer} data
 * @returns {Chunks}
 */
export async function* chunksOf(data) {
  for (let at = 0; at < data.length; at += CHUNK) yield data.subarray(at, at + CHUNK);
}

/**
 * Applies a filter chain. `filters` must hold only DECODABLE_FILTERS names.
 * @param {Chunks} source
 * @param {Filter[]} filters
 * @returns {Chunks}
 */
export function decodeChain(source, filters) {
  let chunks = source;
  for (const filter of filters) {
    const name = DECODABLE_FILTERS.get(filter.name);
    if (name === 'FlateDecode') chunks = flateDecode(chunks);
    else if (name === 'LZWDecode') chunks = lzwDecode(chunks, filter.earlyChange);
    else if (name === 'RunLengthDecode') chunks = runLengthDecode(chunks);
    else if (name === 'ASCIIHexDecode') chunks = asciiHexDecode(chunks);
    else if (name === 'ASCII85Decode') chunks = ascii85Decode(chunks);
    else throw new Error(`not a decodable filter: ${filter.name}`);
  }
  return chunks;
}

/** Largest output of one stage that the synchronous fast path materialises. */
export const FAST_PATH_LIMIT = 1024 * 1024;

/**
 * The common case at native speed and without the cost of a stream per stage: a chain of Flate
 * filters each of whose outputs is at most FAST_PATH_LIMIT, decoded synchronously. Null when
 * that does not apply (other filters, a larger or damaged stage): then the streaming path
 * decodes it, within the caller's bound.
 * @param {Buffer} data
 * @param {Filter[]} filters
 * @returns {Buffer | null}
 */
export function decodeSmallFlateChain(data, filters) {
  if (!filters.every((filter) => DECODABLE_FILTERS.get(filter.name) === 'FlateDecode')) {
    return null;
  }
  let output = data;
  for (const _filter of filters) {
    if (!hasZlibHeader(output)) return null;
    try {
      output = inflateRawSync(output.subarray(2), { maxOutputLength: FAST_PATH_LIMIT });
    } catch {
      return null;
    }
  }
  return output;
}

/**
 * A zlib header (RFC 1950 §2.2) as pdf.js checks it: deflate, a valid check value, no preset
 * dictionary.
 * @param {Uint8Array} head
 */
function hasZlibHeader(head) {
  const cmf = head[0];
  const flg = head[1];
  return (
    cmf !== undefined &&
    flg !== undefined &&
    (cmf & 0x0f) === 0x08 &&
    ((cmf << 8) + flg) % 31 === 0 &&
    (flg & 0x20) === 0
  );
}

/**
 * Counts the bytes of `chunks`, stopping (and so stopping every decoder behind it) once the
 * count passes `limit`. Damaged data ends the count where the damage is, as it ends pdf.js's
 * reading there.
 * @param {Chunks} chunks
 * @param {number} limit
 * @returns {Promise<{ bytes: number, exceeded: boolean, damaged: boolean }>}
 */
export async function countBytes(chunks, limit) {
  let bytes = 0;
  try {
    for await (const chunk of chunks) {
      bytes += chunk.length;
      if (bytes > limit) return { bytes, exceeded: true, damaged: false };
    }
  } catch (error) {
    if (error instanceof DamagedData) return { bytes, exceeded: false, damaged: true };
    throw error;
  }
  return { bytes, exceeded: false, damaged: false };
}

/**
 * Collects `chunks` into one buffer, or answers null once they pass `limit` (for object
 * streams, whose content the scan reads). Throws DamagedData.
 * @param {Chunks} chunks
 * @param {number} limit
 * @returns {Promise<Buffer | null>}
 */
export async function collectBytes(chunks, limit) {
  /** @type {Buffer[]} */
  const parts = [];
  let bytes = 0;
  for await (const chunk of chunks) {
    bytes += chunk.length;
    if (bytes > limit) return null;
    parts.push(Buffer.from(chunk)); // a copy: decoders may reuse or release their buffers
  }
  return Buffer.concat(parts, bytes);
}

/**
 * Reads the first `count` bytes of `source`, returning them with an iterator over the rest.
 * @param {Chunks} source
 * @param {number} count
 */
async function splitHead(source, count) {
  const iterator = source[Symbol.asyncIterator]();
  let head = Buffer.alloc(0);
  while (head.length < count) {
    const next = await iterator.next();
    if (next.done) break;
    head = Buffer.concat([head, next.value]);
  }
  /** @type {Chunks} */
  const rest = {
    async *[Symbol.asyncIterator]() {
      try {
        if (head.length > count) yield head.subarray(count);
        for (;;) {
          const next = await iterator.next();
          if (next.done) return;
          yield next.value;
        }
      } finally {
        await iterator.return?.();
      }
    },
  };
  return { head: head.subarray(0, count), rest };
}

/**
 * FlateDecode (§7.4.4) as pdf.js reads it: the two-byte zlib header checked, the deflate data
 * inflated by native zlib in CHUNK-sized outputs, the Adler-32 checksum ignored (pdf.js does not
 * verify it). Input is written only as zlib asks for it, so a stream that stops being read
 * stops being inflated.
 * @param {Chunks} source
 * @returns {Chunks}
 */
async function* flateDecode(source) {
  const { head, rest } = await splitHead(source, 2);
  if (!hasZlibHeader(head)) throw new DamagedData('bad zlib header');
  const inflater = createInflateRaw({ chunkSize: CHUNK });
  const stop = new AbortController();
  const feeding = feed(rest, inflater, stop.signal);
  try {
    for await (const chunk of inflater) yield/** @type {Buffer} */ (chunk);
  } catch (error) {
    if (stop.signal.aborted) return;
    throw new DamagedData(String(/** @type {Error} */ (error)?.message ?? error));
  } finally {
    stop.abort();
    inflater.destroy();
    await feeding;
  }
}

/**
 * Writes `source` into `inflater` as fast as it takes it, until the source ends, the inflater
 * has seen the end of the deflate data, or `signal` aborts.
 * @param {Chunks} source
 * @param {import('node:zlib').InflateRaw} inflater
 * @param {AbortSignal} signal
 */
async function feed(source, inflater, signal) {
  try {
    for await (const chunk of source) {
      if (signal.aborted || inflater.writableEnded || inflater.destroyed) return;
      if (!inflater.write(chunk)) await once(inflater, 'drain', { signal });
    }
    if (!signal.aborted && !inflater.destroyed) inflater.end();
  } catch {
    // Aborted, or the inflater failed: its reader sees that failure.
  }
}

/**
 * Gathers output bytes into CHUNK-sized buffers.
 */
class Output {
  constructor() {
    this.buffer = Buffer.allocUnsafe(CHUNK);
    this.length = 0;
  }

  get full() {
    return this.length === CHUNK;
  }

  /** @param {number} byte */
  push(byte) {
    this.buffer[this.length++] = byte;
  }

  take() {
    const taken = this.buffer.subarray(0, this.length);
    this.buffer = Buffer.allocUnsafe(CHUNK);
    this.length = 0;
    return taken;
  }
}

/**
 * LZWDecode (§7.4.4) as pdf.js's LZWStream does it: 9- to 12-bit codes, 256 clears, 257 ends,
 * /EarlyChange 1 by default. One code can stand for up to 4096 bytes, so output leaves in
 * CHUNK-sized pieces however little input it took.
 * @param {Chunks} source
 * @param {number} earlyChange
 * @returns {Chunks}
 */
async function* lzwDecode(source, earlyChange) {
  const size = 4097;
  const values = new Uint8Array(size);
  const prevCodes = new Uint16Array(size);
  const lengths = new Uint16Array(size);
  for (let code = 0; code < 256; code += 1) {
    values[code] = code;
    lengths[code] = 1;
  }
  const sequence = new Uint8Array(size);
  let sequenceLength = 0;
  let nextCode = 258;
  let codeLength = 9;
  let prevCode = 0;
  let bits = 0;
  let bitCount = 0;
  const output = new Output();
  for await (const chunk of source) {
    for (const byte of chunk) {
      bits = ((bits << 8) | byte) & 0xffffff;
      bitCount += 8;
      if (bitCount < codeLength) continue;
      bitCount -= codeLength;
      const code = (bits >>> bitCount) & ((1 << codeLength) - 1);
      const hasPrev = sequenceLength > 0;
      if (code < 256) {
        sequence[0] = code;
        sequenceLength = 1;
      } else if (code >= 258) {
        if (code < nextCode) {
          sequenceLength = /** @type {number} */ (lengths[code]);
          for (let j = sequenceLength - 1, q = code; j >= 0; j -= 1) {
            sequence[j] = /** @type {number} */ (values[q]);
            q = /** @type {number} */ (prevCodes[q]);
          }
        } else if (hasPrev) {
          sequence[sequenceLength++] = /** @type {number} */ (sequence[0]);
        } else {
          throw new DamagedData('LZW code out of range');
        }
      } else if (code === 256) {
        codeLength = 9;
        nextCode = 258;
        sequenceLength = 0;
        continue;
      } else {
        if (output.length > 0) yield output.take();
        return;
      }
      if (hasPrev && nextCode < size) {
        prevCodes[nextCode] = prevCode;
        lengths[nextCode] = /** @type {number} */ (lengths[prevCode]) + 1;
        values[nextCode] = /** @type {number} */ (sequence[0]);
        nextCode += 1;
        const probe = nextCode + earlyChange;
        if ((probe & (probe - 1)) === 0) codeLength = Math.min(Math.log2(probe) + 1, 12);
      }
      prevCode = code;
      for (let k = 0; k < sequenceLength; k += 1) {
        output.push(/** @type {number} */ (sequence[k]));
        if (output.full) yield output.take();
      }
    }
  }
  if (output.length > 0) yield output.take();
}

/**
 * RunLengthDecode (§7.4.5): a length byte n, then n+1 literal bytes (n < 128) or one byte
 * repeated 257-n times (n > 128); 128 ends the data.
 * @param {Chunks} source
 * @returns {Chunks}
 */
async function* runLengthDecode(source) {
  const output = new Output();
  let literal = 0; // literal bytes still to copy
  let repeat = 0; // > 0: the next byte is repeated this many times
  for await (const chunk of source) {
    for (const byte of chunk) {
      if (literal > 0) {
        output.push(byte);
        literal -= 1;
        if (output.full) yield output.take();
      } else if (repeat > 0) {
        for (let k = 0; k < repeat; k += 1) {
          output.push(byte);
          if (output.full) yield output.take();
        }
        repeat = 0;
      } else if (byte < 128) {
        literal = byte + 1;
      } else if (byte > 128) {
        repeat = 257 - byte;
      } else {
        if (output.length > 0) yield output.take();
        return;
      }
    }
  }
  if (output.length > 0) yield output.take();
}

/** @param {number} byte */
function hexValue(byte) {
  if (byte >= 0x30 && byte <= 0x39) return byte - 0x30;
  if (byte >= 0x41 && byte <= 0x46) return byte - 0x37;
  if (byte >= 0x61 && byte <= 0x66) return byte - 0x57;
  return -1;
}

/**
 * ASCIIHexDecode (§7.4.2) as pdf.js does it: non-hex bytes skipped, `>` ends, a lone last
 * digit padded with 0.
 * @param {Chunks} source
 * @returns {Chunks}
 */
async function* asciiHexDecode(source) {
  const output = new Output();
  let high = -1;
  for await (const chunk of source) {
    for (const byte of chunk) {
      if (byte === 0x3e) {
        if (high >= 0) output.push(high << 4);
        if (output.length > 0) yield output.take();
        return;
      }
      const digit = hexValue(byte);
      if (digit < 0) continue;
      if (high < 0) {
        high = digit;
        continue;
      }
      output.push((high << 4) | digit);
      high = -1;
      if (output.full) yield output.take();
    }
  }
  if (high >= 0) output.push(high << 4);
  if (output.length > 0) yield output.take();
}

/**
 * ASCII85Decode (§7.4.3) as pdf.js's Ascii85Stream does it: white space skipped, `z` for four
 * zero bytes, `~` ends, a short last group padded with `u`.
 * @param {Chunks} source
 * @returns {Chunks}
 */
async function* ascii85Decode(source) {
  const output = new Output();
  const group = [0, 0, 0, 0, 0];
  let count = 0;
  /** Writes the first `bytes` bytes of the group's value, padding what is missing with `u`. */
  const emit = (/** @type {number} */ bytes) => {
    for (let i = count; i < 5; i += 1) group[i] = 0x21 + 84;
    let value = 0;
    for (const digit of group) value = value * 85 + (digit - 0x21);
    for (let k = 0; k < bytes; k += 1) output.push((value >>> (24 - 8 * k)) & 0xff);
    count = 0;
  };
  for await (const chunk of source) {
    for (const byte of chunk) {
      if (byte === 0x20 || byte === 0x09 || byte === 0x0d || byte === 0x0a) continue;
      if (byte === 0x7e) {
        if (count > 1) emit(count - 1);
        if (output.length > 0) yield output.take();
        return;
      }
      if (byte === 0x7a && count === 0) {
        for (let k = 0; k < 4; k += 1) output.push(0);
      } else {
        group[count++] = byte;
        if (count === 5) emit(4);
      }
      if (output.length > CHUNK - 4) yield output.take();
    }
  }
  if (count > 1) emit(count - 1);
  if (output.length > 0) yield output.take();
}
