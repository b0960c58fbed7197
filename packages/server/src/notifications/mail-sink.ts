import { randomUUID } from 'node:crypto';
import type { AddressInfo } from 'node:net';
import { SMTPServer, type SMTPServerDataStream, type SMTPServerSession } from 'smtp-server';

/** One message the development mail sink received, parsed enough to show and to test. */
export interface SinkMessage {
  id: string;
  /** ISO 8601. */
  receivedAt: string;
  /** The From header, encoded-words decoded. */
  from: string;
  /** The envelope recipients (RCPT TO): where the message was really sent. */
  to: string[];
  subject: string;
  text: string;
  html: string;
  /** Header names in lower case, values unfolded; a repeated header keeps its first value. */
  headers: Record<string, string>;
  raw: string;
}

export interface MailSink {
  port: number;
  /** What was received, oldest first. */
  messages(): SinkMessage[];
  close(): Promise<void>;
}

/** Enough to look back at recent mail, bounded so a long-running dev server does not grow. */
const KEPT_MESSAGES = 200;
const MAX_MESSAGE_BYTES = 10 * 1024 * 1024;

/**
 * Development only: an SMTP server on loopback that keeps what it receives in memory, so
 * notifications can be seen on `/dev/mail` and checked by tests without a real mail server.
 */
export async function startMailSink(options: { port: number }): Promise<MailSink> {
  const kept: SinkMessage[] = [];
  const server = new SMTPServer({
    banner: 'Kuvert development mail sink',
    disabledCommands: ['STARTTLS', 'AUTH'],
    authOptional: true,
    logger: false,
    size: MAX_MESSAGE_BYTES,
    closeTimeout: 2000,
    onData(stream, session, callback) {
      readMessage(stream)
        .then((raw) => {
          if (stream.sizeExceeded) {
            callback(Object.assign(new Error('Message too large'), { responseCode: 552 }));
            return;
          }
          kept.push(toSinkMessage(raw, session));
          if (kept.length > KEPT_MESSAGES) kept.splice(0, kept.length - KEPT_MESSAGES);
          callback();
        })
        .catch((error: unknown) =>
          callback(error instanceof Error ? error : new Error(String(error))),
        );
    },
  });

  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen(options.port, '127.0.0.1', () => {
      server.off('error', reject);
      resolve();
    });
  });
  // A client dropping its connection is reported as a server error; it must not end the process.
  server.on('error', () => {});

  const address = server.server.address() as AddressInfo;
  return {
    port: address.port,
    messages: () => [...kept],
    close: () => new Promise<void>((resolve) => server.close(() => resolve())),
  };
}

function readMessage(stream: SMTPServerDataStream): Promise<Buffer> {
  return new Promise((resolve, reject) => {
    const chunks: Buffer[] = [];
    stream.on('data', (chunk: Buffer) => chunks.push(chunk));
    stream.on('end', () => resolve(Buffer.concat(chunks)));
    stream.on('error', reject);
  });
}

function toSinkMessage(raw: Buffer, session: SMTPServerSession): SinkMessage {
  const parsed = parseMessage(raw);
  return {
    id: randomUUID(),
    receivedAt: new Date().toISOString(),
    from: parsed.from,
    to: session.envelope.rcptTo.map((recipient) => recipient.address),
    subject: parsed.subject,
    text: parsed.text,
    html: parsed.html,
    headers: parsed.headers,
    raw: raw.toString('utf8'),
  };
}

// --- A small MIME reader -------------------------------------------------------------------
//
// mailparser is not a dependency, and the sink only needs to read what nodemailer writes:
// folded headers with RFC 2047 encoded-words, single-part or (nested) multipart bodies, and
// base64, quoted-printable or 7bit/8bit transfer encodings. The message is handled as a
// binary (latin1) string so every byte survives until a part is decoded with its charset.

export interface ParsedMessage {
  headers: Record<string, string>;
  from: string;
  subject: string;
  text: string;
  html: string;
}

export function parseMessage(raw: Buffer): ParsedMessage {
  const root = readEntity(raw.toString('latin1'));
  const bodies = { text: undefined as string | undefined, html: undefined as string | undefined };
  collectBodies(root, bodies, 0);
  return {
    headers: Object.fromEntries(root.headers),
    from: decodeEncodedWords(root.headers.get('from') ?? ''),
    subject: decodeEncodedWords(root.headers.get('subject') ?? ''),
    text: bodies.text ?? '',
    html: bodies.html ?? '',
  };
}

interface Entity {
  /** Lower-case name → unfolded value, decoded as UTF-8 (RFC 6532 allows raw UTF-8). */
  headers: Map<string, string>;
  /** Still transfer-encoded, as a binary string. */
  body: string;
}

function readEntity(binary: string): Entity {
  const blank = /\r?\n\r?\n/.exec(binary);
  // A part that starts with a blank line has no headers at all (RFC 2046 §5.1.1).
  const startsBlank = /^\r?\n/.exec(binary);
  let head: string;
  let body: string;
  if (startsBlank) {
    head = '';
    body = binary.slice(startsBlank[0].length);
  } else if (blank) {
    head = binary.slice(0, blank.index);
    body = binary.slice(blank.index + blank[0].length);
  } else {
    head = binary;
    body = '';
  }
  const headers = new Map<string, string>();
  for (const field of unfold(head)) {
    const colon = field.indexOf(':');
    if (colon <= 0) continue;
    const name = field.slice(0, colon).trim().toLowerCase();
    const value = Buffer.from(field.slice(colon + 1), 'latin1')
      .toString('utf8')
      .trim();
    if (!headers.has(name)) headers.set(name, value);
  }
  return { headers, body };
}

/** RFC 5322 §2.2.3: a line starting with white space continues the field above it. */
function unfold(head: string): string[] {
  const fields: string[] = [];
  for (const line of head.split(/\r?\n/)) {
    if (/^[ \t]/.test(line) && fields.length > 0) {
      fields[fields.length - 1] += line;
    } else if (line !== '') {
      fields.push(line);
    }
  }
  return fields;
}

function collectBodies(
  entity: Entity,
  found: { text: string | undefined; html: string | undefined },
  depth: number,
): void {
  const contentType = parseParameterised(entity.headers.get('content-type') ?? 'text/plain');
  const type = contentType.value.toLowerCase();
  const boundary = contentType.params.boundary;
  if (type.startsWith('multipart/') && boundary && depth < 10) {
    for (const part of splitMultipart(entity.body, boundary)) {
      collectBodies(readEntity(part), found, depth + 1);
    }
    return;
  }
  const disposition = parseParameterised(entity.headers.get('content-disposition') ?? '');
  if (disposition.value.toLowerCase() === 'attachment') return;
  if (type !== 'text/plain' && type !== 'text/html') return;
  const key = type === 'text/plain' ? 'text' : 'html';
  if (found[key] !== undefined) return;
  const bytes = decodeTransfer(entity.body, entity.headers.get('content-transfer-encoding'));
  found[key] = decodeCharset(bytes, contentType.params.charset).replace(/\r\n/g, '\n');
}

/** RFC 2046 §5.1.1: parts sit between `--boundary` lines; the CRLF before one belongs to it. */
function splitMultipart(body: string, boundary: string): string[] {
  const delimiter = new RegExp(
    `(?:^|\\r?\\n)--${escapeRegExp(boundary)}(--)?[ \\t]*(?:\\r?\\n|$)`,
    'g',
  );
  const parts: string[] = [];
  let start = -1;
  for (let match = delimiter.exec(body); match; match = delimiter.exec(body)) {
    if (start >= 0) parts.push(body.slice(start, match.index));
    if (match[1]) return parts;
    start = match.index + match[0].length;
  }
  // No closing delimiter: keep what came after the last one rather than losing it.
  if (start >= 0) parts.push(body.slice(start));
  return parts;
}

/** `type/subtype; name=value; name="quoted value"` (RFC 2045 §5.1). */
function parseParameterised(header: string): { value: string; params: Record<string, string> } {
  const semicolon = header.indexOf(';');
  const value = (semicolon < 0 ? header : header.slice(0, semicolon)).trim();
  const params: Record<string, string> = {};
  if (semicolon >= 0) {
    const pattern = /;\s*([^=\s;]+)\s*=\s*("(?:[^"\\]|\\.)*"|[^;]*)/g;
    for (const match of header.slice(semicolon).matchAll(pattern)) {
      const name = match[1]!.toLowerCase();
      const raw = match[2]!.trim();
      params[name] = raw.startsWith('"') ? raw.slice(1, -1).replace(/\\(.)/g, '$1') : raw;
    }
  }
  return { value, params };
}

function decodeTransfer(body: string, encoding: string | undefined): Buffer {
  switch ((encoding ?? '7bit').trim().toLowerCase()) {
    case 'base64':
      return Buffer.from(body.replace(/[^A-Za-z0-9+/=]/g, ''), 'base64');
    case 'quoted-printable':
      return decodeQuotedPrintable(body);
    default:
      return Buffer.from(body, 'latin1');
  }
}

/** RFC 2045 §6.7: drop trailing white space, join soft line breaks, then decode `=XX`. */
function decodeQuotedPrintable(body: string): Buffer {
  const joined = body.replace(/[ \t]+(?=\r?\n|$)/g, '').replace(/=\r?\n/g, '');
  const binary = joined.replace(/=([0-9A-Fa-f]{2})/g, (_, hex: string) =>
    String.fromCharCode(Number.parseInt(hex, 16)),
  );
  return Buffer.from(binary, 'latin1');
}

function decodeCharset(bytes: Buffer, charset: string | undefined): string {
  try {
    return new TextDecoder(charset?.trim() || 'utf-8').decode(bytes);
  } catch {
    // An unknown charset label: show the bytes rather than nothing.
    return bytes.toString('latin1');
  }
}

const ENCODED_WORD = /=\?([^?*]+)(?:\*[^?]*)?\?([bBqQ])\?([^?]*)\?=/g;

/**
 * RFC 2047: `=?charset?B|Q?text?=`. White space between adjacent encoded-words is not part
 * of the text (§6.2), and adjacent words in one charset are decoded together, because some
 * encoders split a multi-byte character across two words.
 */
export function decodeEncodedWords(value: string): string {
  const joined = value.replace(/\?=\s+(?==\?)/g, '?=');
  let out = '';
  let last = 0;
  let pending: { charset: string; bytes: Buffer[] } | undefined;
  const flush = () => {
    if (pending) out += decodeCharset(Buffer.concat(pending.bytes), pending.charset);
    pending = undefined;
  };
  for (const match of joined.matchAll(ENCODED_WORD)) {
    const between = joined.slice(last, match.index);
    if (between) {
      flush();
      out += between;
    }
    const charset = match[1]!.toLowerCase();
    const text = match[3]!;
    const bytes =
      match[2]!.toLowerCase() === 'b' ? Buffer.from(text, 'base64') : decodeQEncoding(text);
    if (pending && pending.charset !== charset) flush();
    pending ??= { charset, bytes: [] };
    pending.bytes.push(bytes);
    last = match.index + match[0].length;
  }
  flush();
  return out + joined.slice(last);
}

/** RFC 2047 §4.2: like quoted-printable, with `_` for a space. */
function decodeQEncoding(text: string): Buffer {
  const binary = text
    .replace(/_/g, ' ')
    .replace(/=([0-9A-Fa-f]{2})/g, (_, hex: string) =>
      String.fromCharCode(Number.parseInt(hex, 16)),
    );
  return Buffer.from(binary, 'latin1');
}

function escapeRegExp(value: string): string {
  return value.replace(/[.*+?^${}()|[\]\\]/g, '\\$&');
}
