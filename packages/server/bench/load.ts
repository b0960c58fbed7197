import http from 'node:http';

export interface PreparedRequest {
  method: 'POST';
  path: string;
  headers: Record<string, string>;
  body: Buffer;
}

export interface LoadResult {
  requests: number;
  errors: number;
  seconds: number;
  perSecond: number;
  p50Ms: number;
  p99Ms: number;
  statuses: Record<number, number>;
}

/**
 * Send prepared requests over keep-alive connections with a fixed number of clients, each
 * sending its next request when the previous one answered (a closed loop).
 */
export async function runLoad(options: {
  port: number;
  requests: PreparedRequest[];
  concurrency: number;
  expectStatus: number;
}): Promise<LoadResult> {
  const agent = new http.Agent({ keepAlive: true, maxSockets: options.concurrency });
  const latencies: number[] = [];
  const statuses: Record<number, number> = {};
  let next = 0;
  let errors = 0;
  const started = process.hrtime.bigint();
  const client = async () => {
    while (next < options.requests.length) {
      const request = options.requests[next++]!;
      const sent = process.hrtime.bigint();
      const status = await send(agent, options.port, request).catch(() => 0);
      latencies.push(Number(process.hrtime.bigint() - sent) / 1e6);
      statuses[status] = (statuses[status] ?? 0) + 1;
      if (status !== options.expectStatus) errors++;
    }
  };
  await Promise.all(Array.from({ length: options.concurrency }, client));
  const seconds = Number(process.hrtime.bigint() - started) / 1e9;
  agent.destroy();
  latencies.sort((a, b) => a - b);
  const at = (q: number) =>
    latencies[Math.min(latencies.length - 1, Math.floor(q * latencies.length))] ?? 0;
  return {
    requests: options.requests.length,
    errors,
    seconds,
    perSecond: options.requests.length / seconds,
    p50Ms: at(0.5),
    p99Ms: at(0.99),
    statuses,
  };
}

function send(agent: http.Agent, port: number, request: PreparedRequest): Promise<number> {
  return new Promise((resolve, reject) => {
    const outgoing = http.request(
      {
        host: '127.0.0.1',
        port,
        method: request.method,
        path: request.path,
        headers: request.headers,
        agent,
      },
      (response) => {
        response.resume();
        response.on('end', () => resolve(response.statusCode ?? 0));
        response.on('error', reject);
      },
    );
    outgoing.on('error', reject);
    outgoing.end(request.body);
  });
}
