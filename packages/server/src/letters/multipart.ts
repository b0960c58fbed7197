import { KuvertError } from '../errors.js';
import { assertSafeText } from '../safe-text.js';

/**
 * A strict multipart/form-data reader (RFC 7578) for a body that is already in memory: the
 * sender API must hash the exact bytes for the Content-Digest anyway, so the body is read
 * once as a Buffer and split here, without streaming or temporary files.
 */
export interface FormPart {
  name: string;
  filename: string | undefined;
  contentType: string;
  body: Buffer;
}

const crlf = Buffer.from('\r\n');
const headerEnd = Buffer.from('\r\n\r\n');

export function boundaryOf(contentType: string | undefined): string {
  const match =
    /^multipart\/form-data\s*;(?:.*;)?\s*boundary=(?:"([^"]{1,70})"|([^\s;"]{1,70}))/i.exec(
      contentType ?? '',
    );
  const boundary = match?.[1] ?? match?.[2];
  if (!boundary) {
    throw new KuvertError(
      'unsupported_media_type',
      'Send the letter as multipart/form-data with a boundary.',
    );
  }
  return boundary;
}

export function parseMultipart(body: Buffer, boundary: string): FormPart[] {
  const delimiter = Buffer.from(`--${boundary}`);
  const malformed = (why: string) =>
    new KuvertError('bad_request', `The multipart body is malformed: ${why}.`);
  let position = body.indexOf(delimiter);
  if (position !== 0 && position !== -1) {
    // A preamble is allowed by RFC 2046, but only before the first delimiter line.
    if (!body.subarray(position - 2, position).equals(crlf)) throw malformed('no opening boundary');
  }
  if (position === -1) throw malformed('no opening boundary');
  const parts: FormPart[] = [];
  const nextDelimiter = Buffer.concat([crlf, delimiter]);
  while (true) {
    position += delimiter.length;
    const after = body.subarray(position, position + 2).toString('latin1');
    if (after === '--') return parts;
    if (after !== '\r\n') throw malformed('boundary not followed by a line break');
    position += 2;
    const headersEnd = body.indexOf(headerEnd, position);
    if (headersEnd === -1) throw malformed('part headers do not end');
    const headers = parseHeaders(body.subarray(position, headersEnd).toString('utf8'));
    const contentStart = headersEnd + headerEnd.length;
    const contentEnd = body.indexOf(nextDelimiter, contentStart);
    if (contentEnd === -1) throw malformed('closing boundary missing');
    const disposition = headers.get('content-disposition') ?? '';
    const name = parameter(disposition, 'name');
    if (!/^form-data\s*;/i.test(disposition) || name === undefined) {
      throw malformed('a part lacks Content-Disposition: form-data with a name');
    }
    assertSafeText('a multipart part name', name);
    parts.push({
      name,
      filename: parameter(disposition, 'filename'),
      contentType: (headers.get('content-type') ?? 'text/plain')
        .split(';')[0]!
        .trim()
        .toLowerCase(),
      body: body.subarray(contentStart, contentEnd),
    });
    if (parts.length > 10) throw malformed('too many parts');
    position = contentEnd + crlf.length;
  }
}

function parseHeaders(block: string): Map<string, string> {
  const headers = new Map<string, string>();
  for (const line of block.split('\r\n')) {
    const colon = line.indexOf(':');
    if (colon <= 0)
      throw new KuvertError(
        'bad_request',
        'The multipart body is malformed: a part header has no name.',
      );
    headers.set(line.slice(0, colon).trim().toLowerCase(), line.slice(colon + 1).trim());
  }
  return headers;
}

function parameter(header: string, key: string): string | undefined {
  const match =
    new RegExp(`;\\s*${key}="((?:[^"\\\\]|\\\\.)*)"`, 'i').exec(header) ??
    new RegExp(`;\\s*${key}=([^;\\s]+)`, 'i').exec(header);
  return match?.[1]?.replace(/\\(.)/g, '$1');
}
