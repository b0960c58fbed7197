import { connect, type Socket } from 'node:net';

export interface RawResponse {
  status: number;
  headers: Record<string, string>;
  body: string;
  /** Everything the server sent, as received. */
  raw: string;
}

/** Parse the first HTTP/1.1 response in `raw` (one with Content-Length, as ours are). */
export function parseRawResponse(raw: string): RawResponse {
  const headerEnd = raw.indexOf('\r\n\r\n');
  if (headerEnd === -1) throw new Error(`no complete HTTP response in ${JSON.stringify(raw)}`);
  const [statusLine = '', ...lines] = raw.slice(0, headerEnd).split('\r\n');
  const status = /^HTTP\/1\.1 (\d{3}) /.exec(statusLine)?.[1];
  if (!status) throw new Error(`not an HTTP/1.1 status line: ${JSON.stringify(statusLine)}`);
  const headers: Record<string, string> = {};
  for (const line of lines) {
    const colon = line.indexOf(':');
    headers[line.slice(0, colon).trim().toLowerCase()] = line.slice(colon + 1).trim();
  }
  const length = Number(headers['content-length'] ?? Number.NaN);
  const rest = raw.slice(headerEnd + 4);
  return {
    status: Number(status),
    headers,
    body: Number.isNaN(length) ? rest : Buffer.from(rest, 'latin1').subarray(0, length).toString(),
    raw,
  };
}

/**
 * Send bytes over a plain TCP connection and collect what comes back until the server closes
 * it (or, with `untilResponse`, until one complete response has arrived). A real client, not
 * `inject`: it sees what Node's HTTP parser and the socket do, including resets.
 */
export function rawExchange(
  port: number,
  request: string | Buffer,
  options: { untilResponse?: boolean } = {},
): Promise<{ received: string; error: Error | undefined }> {
  return new Promise((resolve) => {
    const socket = connect(port, '127.0.0.1');
    let received = '';
    let error: Error | undefined;
    socket.on('data', (chunk) => {
      received += chunk.toString('latin1');
      if (options.untilResponse && completeResponse(received)) socket.end();
    });
    socket.on('error', (caught) => {
      error = caught;
    });
    socket.on('close', () => resolve({ received, error }));
    socket.write(request);
  });
}

function completeResponse(received: string): boolean {
  try {
    const response = parseRawResponse(received);
    return Buffer.byteLength(response.body) >= Number(response.headers['content-length'] ?? 0);
  } catch {
    return false;
  }
}

/**
 * Stream a chunked request body of `totalBytes` in `chunkBytes` pieces, as fast as the server
 * takes it, while reading the answer; stops writing when the server closes or answers and the
 * body is done. Returns the answer and how much of the body was written.
 */
export function streamingUpload(
  port: number,
  head: string,
  options: { totalBytes: number; chunkBytes?: number },
): Promise<{ received: string; written: number; error: Error | undefined }> {
  const chunkBytes = options.chunkBytes ?? 64 * 1024;
  const chunk = Buffer.concat([
    Buffer.from(`${chunkBytes.toString(16)}\r\n`),
    Buffer.alloc(chunkBytes, 0x61),
    Buffer.from('\r\n'),
  ]);
  return new Promise((resolve) => {
    const socket: Socket = connect(port, '127.0.0.1');
    let received = '';
    let written = 0;
    let error: Error | undefined;
    let closed = false;
    socket.on('data', (data) => {
      received += data.toString('latin1');
    });
    socket.on('error', (caught) => {
      error = caught;
    });
    socket.on('close', () => {
      closed = true;
      resolve({ received, written, error });
    });
    const writeMore = () => {
      while (!closed && written < options.totalBytes) {
        written += chunkBytes;
        if (!socket.write(chunk)) {
          socket.once('drain', writeMore);
          return;
        }
      }
      if (!closed) {
        socket.write('0\r\n\r\n');
        // The body is complete: wait for the answer, then hang up.
        const finish = () => (completeResponse(received) ? socket.end() : undefined);
        finish();
        socket.on('data', finish);
      }
    };
    socket.write(head, writeMore);
  });
}
