import { readFileSync } from 'node:fs';

/**
 * Where a profiled process spent its time, from a `.cpuprofile` written by
 * `BENCH_CPU_PROF=<dir> npm run bench` (Node's --cpu-prof, one file per thread):
 *
 *   node --import tsx packages/server/bench/profile-summary.ts <file.cpuprofile> [top]
 *
 * Self time is grouped by kind of work (HTTP, SQL, hashing, ...), by where the code lives (a
 * package in node_modules, Kuvert's own folder, Node's internals, or the VM itself: GC, idle,
 * native code), then the top functions. The profiler samples wall time: on a busy machine a
 * thread that is not scheduled is charged to whatever it was running, so read shares, and the
 * CPU figures of `npm run bench` for absolute costs.
 */
interface ProfileNode {
  id: number;
  callFrame: { functionName: string; url: string; lineNumber: number };
  children?: number[];
}

interface Profile {
  nodes: ProfileNode[];
  samples: number[];
  timeDeltas: number[];
  startTime: number;
  endTime: number;
}

const file = process.argv[2];
if (!file) throw new Error('usage: profile-summary.ts <file.cpuprofile> [top]');
const top = Number(process.argv[3] ?? 25);
const profile = JSON.parse(readFileSync(file, 'utf8')) as Profile;

const selfMicros = new Map<number, number>();
profile.samples.forEach((nodeId, index) => {
  selfMicros.set(nodeId, (selfMicros.get(nodeId) ?? 0) + (profile.timeDeltas[index] ?? 0));
});
const nodes = new Map(profile.nodes.map((node) => [node.id, node]));

/** A package, a Kuvert folder, Node's internals, or a VM pseudo-frame such as (garbage collector). */
function placeOf({ url, functionName }: ProfileNode['callFrame']): string {
  if (!url) return functionName.startsWith('(') ? functionName : '(native)';
  const inModules = url.match(/node_modules\/((?:@[^/]+\/)?[^/]+)/);
  if (inModules) return inModules[1]!;
  if (url.startsWith('node:')) return url;
  const kuvert = url.match(/packages\/([^/]+)\/(?:src\/)?([^/]+)/);
  if (kuvert) return `kuvert ${kuvert[1]}/${kuvert[2]}`;
  return url;
}

const byPlace = new Map<string, number>();
const byKind = new Map<string, number>();
const byFunction = new Map<string, number>();
for (const [id, micros] of selfMicros) {
  const frame = nodes.get(id)!.callFrame;
  const place = placeOf(frame);
  byPlace.set(place, (byPlace.get(place) ?? 0) + micros);
  const kind = kindOf(frame, place);
  byKind.set(kind, (byKind.get(kind) ?? 0) + micros);
  const name = `${frame.functionName || '(anonymous)'} ${place}${frame.url ? `:${frame.lineNumber + 1}` : ''}`;
  byFunction.set(name, (byFunction.get(name) ?? 0) + micros);
}

/**
 * A rough kind of work for each frame, to read a profile of the ingest server by what the
 * time paid for. Native frames are told apart by their name: socket writes, file system calls
 * (only their dispatch to libuv's pool runs here), messages to worker threads.
 */
function kindOf(frame: ProfileNode['callFrame'], place: string): string {
  const { functionName } = frame;
  if (place === '(idle)') return '(idle)';
  if (place === '(garbage collector)') return 'garbage collection (this thread)';
  if (place === '(program)' || place === '(root)') return 'V8 and Node.js, outside JavaScript';
  if (place === '(native)') {
    if (/^(writev|writeBuffer|write\w*String|shutdown)$/.test(functionName))
      return 'socket writes (HTTP answers, SQL statements)';
    if (/^(open|close|fsync|fdatasync|mkdir|fstat|read|write|unlink|rename)$/.test(functionName))
      return 'file system calls (dispatch to libuv)';
    if (/postMessage|receiveMessageOnPort/.test(functionName))
      return 'messages to worker threads (PDF inspection)';
    return `other native: ${functionName}`;
  }
  if (/^node:internal\/crypto\/(hash|hashing)/.test(place))
    return 'hashing (SHA-256, SHA-512, HMAC)';
  if (place === 'node:internal/crypto/sig' || place === 'kuvert server/senders')
    return 'signature verification (RFC 9421)';
  if (/^node:internal\/crypto/.test(place)) return 'encryption and random bytes';
  if (/^(pg|pg-protocol|pg-pool|kysely|pg-boss)$/.test(place)) return 'SQL client (pg, Kysely)';
  if (
    /^(fastify|@fastify\/.*|find-my-way|avvio|light-my-request|fast-json-stringify|secure-json-parse)$/.test(
      place,
    ) ||
    /^node:(_http|net|internal\/http|internal\/streams|stream)/.test(place)
  )
    return 'HTTP (Node.js http, Fastify)';
  if (/^(typebox|@sinclair\/typebox)$/.test(place)) return 'schema validation (TypeBox)';
  if (/^(pino|pino-std-serializers|sonic-boom|fast-redact)$/.test(place)) return 'logging (pino)';
  if (/modules|loader|tsx|esbuild/.test(place)) return 'module loading (start-up)';
  if (place.startsWith('kuvert ')) return `Kuvert: ${place.slice('kuvert '.length)}`;
  return `other: ${place}`;
}

const totalMicros = [...selfMicros.values()].reduce((sum, value) => sum + value, 0);
const idleMicros = byPlace.get('(idle)') ?? 0;
const busyMicros = totalMicros - idleMicros;
console.log(
  `${file}: ${(totalMicros / 1e6).toFixed(1)} s sampled, ${(busyMicros / 1e6).toFixed(1)} s busy (not idle)`,
);
const print = (title: string, table: Map<string, number>) => {
  console.log(`\n${title} (share of busy time)`);
  const sorted = [...table].filter(([name]) => !name.startsWith('(idle)'));
  sorted.sort((a, b) => b[1] - a[1]);
  for (const [name, micros] of sorted.slice(0, top)) {
    console.log(
      `${((100 * micros) / busyMicros).toFixed(1).padStart(5)} %  ${(micros / 1000).toFixed(0).padStart(7)} ms  ${name}`,
    );
  }
};
print('by kind of work', byKind);
print('by place', byPlace);
print('by function', byFunction);
