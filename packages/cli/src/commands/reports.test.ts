import { loadConfig } from '@kuvert/server/config';
import { createMessage, encrypt } from 'openpgp';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startTestKuvert, type TestKuvert } from '../../../server/test/support/app.js';
import { hallOfFameCommand, reportsCommand, terminalSafe } from './reports.js';

// The commands as the CLI runs them, against the database and data directory of a started
// Kuvert (its master keys and service key), with the output captured.

let kuvert: TestKuvert;
let config: ReturnType<typeof loadConfig>;

beforeAll(async () => {
  kuvert = await startTestKuvert();
  config = loadConfig({
    KUVERT_ENV: 'test',
    KUVERT_DATA_DIR: kuvert.dataDir,
    DATABASE_URL: kuvert.databaseUrl,
    KUVERT_PUBLIC_URL: 'https://kuvert.test',
    LOG_LEVEL: 'silent',
  });
});
afterAll(() => kuvert?.close());

function captured() {
  let stdout = '';
  let stderr = '';
  return {
    output: {
      stdout: { write: (text: string) => (stdout += text) },
      stderr: { write: (text: string) => (stderr += text) },
    },
    stdout: () => stdout,
    stderr: () => stderr,
  };
}

async function reports(...argv: string[]) {
  const io = captured();
  const code = await reportsCommand(config, argv, io.output);
  return { code, stdout: io.stdout(), stderr: io.stderr() };
}

async function hallOfFame(...argv: string[]) {
  const io = captured();
  const code = await hallOfFameCommand(config, argv, io.output);
  return { code, stdout: io.stdout(), stderr: io.stderr() };
}

async function submit(text: string): Promise<string> {
  const ciphertext = await encrypt({
    message: await createMessage({ text }),
    encryptionKeys: kuvert.context.serviceKey.publicKey,
  });
  const response = await kuvert.app.inject({
    method: 'POST',
    url: '/security/reports',
    payload: { ciphertext },
  });
  expect(response.statusCode).toBe(201);
  return response.json().id as string;
}

describe('kuvert reports', () => {
  it('list, show (decrypted) and status, audited', async () => {
    const id = await submit('SQL injection in /api/letters?sort=\n\tdetails follow');
    const listed = await reports('list');
    expect(listed.code).toBe(0);
    expect(JSON.parse(listed.stdout)).toEqual([
      expect.objectContaining({ id, status: 'new', size: expect.any(Number) }),
    ]);

    const shown = await reports('show', id);
    expect(shown.code).toBe(0);
    expect(shown.stdout).toContain(`Report ${id}\n`);
    expect(shown.stdout).toContain('\n\nSQL injection in /api/letters?sort=\n\tdetails follow\n');

    const changed = await reports('status', id, 'triaged');
    expect(changed).toMatchObject({ code: 0, stdout: `Report ${id}: new → triaged\n` });
    expect((await reports('show', id)).stdout).toContain('Status: triaged');
    const audit = await kuvert.context.db
      .selectFrom('audit_log')
      .selectAll()
      .orderBy('at')
      .orderBy('chain_seq')
      .execute();
    expect(audit.at(-1)).toMatchObject({
      actor: 'admin:cli',
      action: 'vulnerability_report.status_changed',
      subject: id,
      details: { from: 'new', to: 'triaged' },
    });
  });

  it('refuses an unknown status, an unknown id and a missing argument', async () => {
    const id = await submit('x');
    expect(await reports('status', id, 'done')).toMatchObject({ code: 1 });
    expect((await reports('status', id, 'done')).stderr).toContain('new, triaged, fixed, rejected');
    const unknown = await reports('show', '00000000-0000-4000-8000-000000000000');
    expect(unknown.code).toBe(1);
    expect(unknown.stderr).toContain('Not found');
    expect((await reports('show')).stderr).toContain('Usage: kuvert reports show <id>');
  });

  it('shows escape sequences and bidirectional overrides in a report as visible code points', async () => {
    const id = await submit('look\u001b]0;pwned\u0007 here \u202Eevil');
    const shown = await reports('show', id);
    expect(shown.stdout).toContain('look<U+001B>]0;pwned<U+0007> here <U+202E>evil');
    expect(shown.stdout).not.toContain('\u001b');
    expect(terminalSafe('line\n\tindented')).toBe('line\n\tindented');
  });
});

describe('kuvert halloffame', () => {
  it('add, list and remove, audited; the page shows the entry', async () => {
    const added = await hallOfFame(
      'add',
      '--name',
      'Ada Lovelace',
      '--year',
      '2026',
      '--link',
      'https://ada.example/',
    );
    expect(added.code).toBe(0);
    const entry = JSON.parse(added.stdout) as { id: string };
    expect(entry).toMatchObject({ name: 'Ada Lovelace', year: 2026, link: 'https://ada.example/' });
    const page = await kuvert.app.inject({ method: 'GET', url: '/en/security' });
    expect(page.body).toContain('>Ada Lovelace</a>');

    expect(JSON.parse((await hallOfFame('list')).stdout)).toEqual([entry]);
    expect(await hallOfFame('remove', entry.id)).toMatchObject({
      code: 0,
      stdout: 'Removed Ada Lovelace (2026).\n',
    });
    expect(JSON.parse((await hallOfFame('list')).stdout)).toEqual([]);
    const actions = (
      await kuvert.context.db
        .selectFrom('audit_log')
        .selectAll()
        .orderBy('at')
        .orderBy('chain_seq')
        .execute()
    )
      .filter((row) => row.subject === entry.id)
      .map((row) => row.action);
    expect(actions).toEqual(['hall_of_fame.added', 'hall_of_fame.removed']);
  });

  it('says that it needs consent, and refuses bad input', async () => {
    const usage = await hallOfFame('add', '--name', 'Nobody');
    expect(usage.code).toBe(1);
    expect(usage.stderr).toContain('consent');
    expect((await hallOfFame('add', '--name', 'X', '--year', 'last')).stderr).toContain('--year');
    const badLink = await hallOfFame(
      'add',
      '--name',
      'X',
      '--year',
      '2026',
      '--link',
      'javascript:x',
    );
    expect(badLink.code).toBe(1);
    expect(badLink.stderr).toContain('link must be an https://');
  });
});
