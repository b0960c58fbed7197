import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import pino from 'pino';
import { describe, expect, it } from 'vitest';
import { createTestDatabase } from '../test/support/database.js';
import { loadConfig } from './config.js';
import { keyFilePath } from './documents/master-keys.js';
import { generateSyntheticNationalId } from './mailboxes/national-id.js';
import { createMailbox } from './mailboxes/service.js';
import { startRuntime } from './runtime.js';

describe('start-up', () => {
  it('refuses to make new master keys for a database that already holds mailboxes', async () => {
    const dataDir = await mkdtemp(path.join(tmpdir(), 'kuvert-runtime-'));
    const databaseUrl = await createTestDatabase();
    const config = loadConfig({
      KUVERT_ENV: 'test',
      KUVERT_DATA_DIR: dataDir,
      KUVERT_WORKERS: 'false',
    });
    const log = pino({ level: 'silent' });
    try {
      const first = await startRuntime(config, { databaseUrl, log });
      await createMailbox({
        db: first.context.db,
        keys: first.context.keys,
        nationalId: generateSyntheticNationalId(),
        email: 'runtime@recipients.test',
        language: 'en',
        password: 'a quiet lantern by the harbour',
        acceptSynthetic: true,
      });
      await first.stop();

      // A restore without the key file: the same database, no keys.
      await rm(keyFilePath(dataDir));
      await expect(startRuntime(config, { databaseUrl, log })).rejects.toThrow(
        /no master key file/,
      );

      // A new installation (empty database, no key file) starts and makes its keys.
      const fresh = await mkdtemp(path.join(tmpdir(), 'kuvert-runtime-'));
      const empty = await startRuntime(
        loadConfig({ KUVERT_ENV: 'test', KUVERT_DATA_DIR: fresh, KUVERT_WORKERS: 'false' }),
        { databaseUrl: await createTestDatabase(), log },
      );
      await empty.stop();
      await rm(fresh, { recursive: true, force: true });
    } finally {
      await rm(dataDir, { recursive: true, force: true });
    }
  });
});
