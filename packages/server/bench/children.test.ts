import { existsSync } from 'node:fs';
import path from 'node:path';
import { describe, expect, it } from 'vitest';
import { runCleanups, startChild } from './children.js';

interface Ready {
  type: string;
  port: number;
  /** The run directory the bench made for this child (its log and data live there). */
  runDir: string;
}

describe('bench children', () => {
  it('reads the start-up message from IPC, not from a log line on stdout', async () => {
    const child = await startChild<Ready>('./fixtures/noisy-server.ts');
    try {
      expect(child.ready).toMatchObject({ type: 'ready', port: 4242 });
      expect(await child.ask({ type: 'ping' })).toEqual({ type: 'pong' });
    } finally {
      await child.stop();
    }
  });

  it('removes the run directory when the child stops', async () => {
    const child = await startChild<Ready>('./fixtures/noisy-server.ts');
    const { runDir } = child.ready;
    expect(existsSync(path.join(runDir, 'data.bin'))).toBe(true);
    await child.stop();
    expect(existsSync(runDir)).toBe(false);
  });

  it('removes the run directory of a child still running when the bench ends', async () => {
    const child = await startChild<Ready>('./fixtures/noisy-server.ts');
    await runCleanups();
    expect(existsSync(child.ready.runDir)).toBe(false);
  });
});
