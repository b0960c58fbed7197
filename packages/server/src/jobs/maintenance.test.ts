import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startTestKuvert, type TestKuvert } from '../../test/support/app.js';
import { buildRecipient, buildSender, sendLetter } from '../../test/support/factories.js';
import { maintenanceTasks } from '../background.js';
import { sweepOrphanDocuments } from '../letters/service.js';
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
    const maintenance = startMaintenance({
      tasks: maintenanceTasks(kuvert.context),
      log: kuvert.context.log,
    });
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

  it('sweeps ciphertexts no document refers to, and keeps every referenced one', async () => {
    const { context, app } = kuvert;
    const sender = await buildSender(context);
    const recipient = await buildRecipient(context);
    const sent = await sendLetter(app, sender, { recipient: { nationalId: recipient.nationalId } });
    expect(sent.statusCode).toBe(201);
    const orphan = 'documents/0b4a1f6e-6a0c-4a47-9d1e-2f3c4b5a6d7e';
    await context.blobs.put(orphan, Buffer.from('left behind by a crash'));

    // Nothing is old enough yet: nothing goes.
    expect(
      await sweepOrphanDocuments({ ...context, olderThan: new Date(Date.now() - 60_000) }),
    ).toBe(0);
    // Everything is "old": only the orphan goes.
    expect(
      await sweepOrphanDocuments({ ...context, olderThan: new Date(Date.now() + 60_000) }),
    ).toBe(1);
    await expect(context.blobs.get(orphan)).rejects.toThrow();
    const document = await context.db
      .selectFrom('documents')
      .select('blob_key')
      .executeTakeFirstOrThrow();
    expect((await context.blobs.get(document.blob_key)).length).toBeGreaterThan(0);
  });
});
