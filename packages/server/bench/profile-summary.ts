import { readFileSync } from 'node:fs';

/**
 * Where a profiled process spent its time, from a `.cpuprofile` written by
 * `BENCH_CPU_PROF=<dir> npm run bench` (Node's --cpu-prof, one file per thread):
 *
 *   node --import tsx packages/server/bench/profile-summary.ts <file.cpuprofile> [top]
 *
 * Self time is grouped by where the code lives (a package in node_modules, Kuvert's own
 * folder, Node's internals, or the VM itself: GC, idle, native code), then the top functions.
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
const byFunction = new Map<string, number>();
for (const [id, micros] of selfMicros) {
  const frame = nodes.get(id)!.callFrame;
  const place = placeOf(frame);
  byPlace.set(place, (byPlace.get(place) ?? 0) + micros);
  const name = `${frame.functionName || '(anonymous)'} ${place}${frame.url ? `:${frame.lineNumber + 1}` : ''}`;
  byFunction.set(name, (byFunction.get(name) ?? 0) + micros);
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
print('by place', byPlace);
print('by function', byFunction);
