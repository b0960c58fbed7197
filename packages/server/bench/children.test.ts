import { existsSync, readdirSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { describe, expect, it } from 'vitest';
import { runCleanups, startChild } from './children.js';

/** Run directories of the bench's children that exist now. */
function runDirectories(): string[] {
  return readdirSync(tmpdir()).filter((name) => name.startsWith('kuvert-bench-'));
}

describe('bench children', () => {
  it('reads the start-up message from IPC, not from a log line on stdout', async () => {
    const child = await startChild<{ type: string; port: number }>('./fixtures/noisy-server.ts');
    try {
      expect(child.ready).toEqual({ type: 'ready', port: 4242 });
      expect(await child.ask({ type: 'ping' })).toEqual({ type: 'pong' });
    } finally {
      await child.stop();
    }
  });

  it('removes the run directory when the child stops', async () => {
    const before = new Set(runDirectories());
    const child = await startChild('./fixtures/noisy-server.ts');
    const created = runDirectories().filter((name) => !before.has(name));
    expect(created).toHaveLength(1);
    await child.stop();
    expect(existsSync(`${tmpdir()}/${created[0]}`)).toBe(false);
  });

  it('removes the run directory of a child still running when the bench ends', async () => {
    const before = new Set(runDirectories());
    await startChild('./fixtures/noisy-server.ts');
    const created = runDirectories().filter((name) => !before.has(name));
    await runCleanups();
    expect(existsSync(`${tmpdir()}/${created[0]}`)).toBe(false);
  });
});
