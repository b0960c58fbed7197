import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startTestKuvert, type TestKuvert } from '../../test/support/app.js';
import { startMaintenance } from './maintenance.js';

let kuvert: TestKuvert;
beforeAll(async () => {
  kuvert = await startTestKuvert();
});
afterAll(() => kuvert?.close());

describe('maintenance', () => {
  it('prunes signature nonces past their window and keeps live ones', async () => {
    const { db } = kuvert.context;
    await db
      .insertInto('signature_nonces')
      .values([
        { key_id: 'k', nonce: 'expired', expires_at: new Date(Date.now() - 1000) },
        { key_id: 'k', nonce: 'live', expires_at: new Date(Date.now() + 300_000) },
      ])
      .execute();
    const maintenance = startMaintenance(kuvert.context);
    try {
      const deadline = Date.now() + 5000;
      let nonces: string[] = [];
      while (Date.now() < deadline) {
        nonces = (await db.selectFrom('signature_nonces').select('nonce').execute()).map(
          (row) => row.nonce,
        );
        if (!nonces.includes('expired')) break;
        await new Promise((resolve) => setTimeout(resolve, 50));
      }
      expect(nonces).toEqual(['live']);
    } finally {
      maintenance.stop();
    }
  });
});
