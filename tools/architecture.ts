/**
 * The architecture as data: every folder of the repository, what lives there and which other
 * folders it may import. ARCHITECTURE.md's table is generated from this list
 * (`npm run docs:generate`) and `architecture.test.ts` checks every import of every source file
 * against it, so the map cannot drift from the code.
 */
export interface Room {
  /** A stable short name, used in `mayImport`. */
  name: string;
  /** Folders or files (repository-relative, `/`-separated) that belong to this room. */
  paths: readonly string[];
  /** What lives there, for the newcomer. */
  holds: string;
  /** Rooms whose files this room may import (its own files are always allowed). */
  mayImport: readonly string[] | 'anything';
  /**
   * Whether the room may build SQL outside `queries.ts` files. Only the database layer and
   * test support may: everywhere else SQL lives in the room's own `queries.ts`.
   */
  sqlAnywhere?: boolean;
  /** Packages (npm names) the room may import besides `node:` built-ins; absent: any. */
  packages?: readonly string[];
}

const serverRooms = [
  'config',
  'errors',
  'safe-text',
  'http',
  'db',
  'documents',
  'audit',
  'senders',
  'mailboxes',
  'auth',
  'registration',
  'letters',
  'notifications',
  'jobs',
  'health',
  'security-page',
  'context',
  'wiring',
] as const;

export const rooms: readonly Room[] = [
  {
    name: 'sdk',
    paths: ['packages/sdk/src'],
    holds:
      'the sender SDK: RFC 9421 signing, RFC 9530 digests, RFC 8941 structured fields, `KuvertClient`',
    mayImport: [],
    packages: [],
  },
  {
    name: 'config',
    paths: ['packages/server/src/config.ts'],
    holds: 'the one reader of the environment; the README table is generated from it',
    mayImport: [],
  },
  {
    name: 'errors',
    paths: ['packages/server/src/errors.ts'],
    holds: '`KuvertError` and the closed set of error codes (docs/errors.md is generated from it)',
    mayImport: [],
  },
  {
    name: 'safe-text',
    paths: ['packages/server/src/safe-text.ts'],
    holds:
      'the one rule for free text (no control or bidirectional formatting characters) and its 422 detail',
    mayImport: ['errors'],
  },
  {
    name: 'http',
    paths: ['packages/server/src/http'],
    holds:
      'Fastify plumbing: problem documents, security headers, logger options, route table, static web app',
    mayImport: ['errors', 'config', 'safe-text'],
  },
  {
    name: 'db',
    paths: ['packages/server/src/db'],
    holds: 'Kysely connection, migrations, schema types, embedded PostgreSQL',
    mayImport: [],
    sqlAnywhere: true,
  },
  {
    name: 'documents',
    paths: ['packages/server/src/documents'],
    holds:
      'envelope encryption, master keys, blob stores (filesystem, S3), PDF inspection (a pool of child processes)',
    mayImport: ['errors', 'config'],
  },
  {
    name: 'audit',
    paths: ['packages/server/src/audit'],
    holds:
      'the append-only audit log: keyed chains, signed checkpoints in the blob store, verification',
    mayImport: ['db', 'documents', 'jobs', 'context'],
  },
  {
    name: 'senders',
    paths: ['packages/server/src/senders'],
    holds:
      'sender registration, keys (cached per process; revocation heard at once by LISTEN), RFC 9421 verification of sender requests, signature nonces and their pruning',
    mayImport: ['sdk', 'db', 'audit', 'errors', 'context', 'jobs', 'safe-text'],
  },
  {
    name: 'mailboxes',
    paths: ['packages/server/src/mailboxes'],
    holds: 'recipients’ mailboxes, national identity numbers',
    mayImport: ['documents', 'db', 'audit', 'errors', 'safe-text'],
  },
  {
    name: 'auth',
    paths: ['packages/server/src/auth'],
    holds:
      'recipient login (password + TOTP or a recovery code, passkeys, national eID over OpenID Connect), the login methods a recipient manages, assurance levels and step-up, sessions, CSRF, login rate limits',
    mayImport: [
      'mailboxes',
      'documents',
      'db',
      'audit',
      'errors',
      'context',
      'safe-text',
      'config',
    ],
  },
  {
    name: 'registration',
    paths: ['packages/server/src/registration'],
    holds:
      'a mailbox opened at the first eID login (terms accepted, version recorded), notification addresses confirmed by one-time codes',
    mayImport: [
      'auth',
      'mailboxes',
      'notifications',
      'documents',
      'db',
      'audit',
      'errors',
      'context',
      'safe-text',
    ],
  },
  {
    name: 'letters',
    paths: ['packages/server/src/letters'],
    holds:
      'the sender API and the recipient API for letters, and the sweep of ciphertexts no letter refers to',
    mayImport: [
      'senders',
      'mailboxes',
      'auth',
      'documents',
      'notifications',
      'jobs',
      'audit',
      'db',
      'errors',
      'http',
      'context',
      'safe-text',
    ],
  },
  {
    name: 'notifications',
    paths: ['packages/server/src/notifications'],
    holds:
      'notification email: templates (nb, nn, en, with the personal anti-phishing phrase), mailer, the `letter.notify` job, dev mail sink; the SMS adapter and its dev sink',
    mayImport: ['jobs', 'db', 'config', 'errors', 'context', 'mailboxes'],
  },
  {
    name: 'jobs',
    paths: ['packages/server/src/jobs'],
    holds:
      'the job contract (`JobDefinition`, `JobQueue`, `MaintenanceTask`), the pg-boss queue and the maintenance timer; each job and task lives in the room whose data it handles',
    mayImport: ['db', 'context'],
  },
  {
    name: 'health',
    paths: ['packages/server/src/health'],
    holds: '`/healthz` and `/readyz`',
    mayImport: ['db', 'documents'],
  },
  {
    name: 'security-page',
    paths: ['packages/server/src/security-page'],
    holds:
      'the security page (nb, nn, en), the service OpenPGP key, signed `/.well-known/security.txt`, encrypted vulnerability reports, the hall of fame, problem type pages',
    mayImport: ['http', 'config', 'db', 'audit', 'errors', 'documents', 'auth', 'safe-text'],
  },
  {
    name: 'security-page-browser',
    paths: ['packages/server/src/security-page/static'],
    holds:
      'what the security page sends to browsers: its stylesheet and the report form script (OpenPGP.js is served from the package)',
    mayImport: [],
    packages: [],
  },
  {
    name: 'context',
    paths: ['packages/server/src/context.ts'],
    holds: 'the shape of what start-up makes once and hands to routes and jobs (types only)',
    mayImport: ['config', 'db', 'documents', 'jobs', 'notifications', 'senders', 'security-page'],
  },
  {
    name: 'wiring',
    paths: [
      'packages/server/src/app.ts',
      'packages/server/src/runtime.ts',
      'packages/server/src/background.ts',
      'packages/server/src/demo.ts',
      'packages/server/src/generated-docs.ts',
    ],
    holds:
      'wiring: start what the app runs on, the list of background jobs and tasks, build the Fastify app, the demo data, generated docs',
    mayImport: [...serverRooms.filter((room) => room !== 'wiring'), 'sdk'],
  },
  {
    name: 'test-support',
    paths: ['packages/server/test'],
    holds: 'test support only: global database setup, app factory, factories, PDFs, fixtures',
    mayImport: [...serverRooms, 'sdk', 'repository', 'eid-simulator'],
    sqlAnywhere: true,
  },
  {
    name: 'server-scripts',
    paths: ['packages/server/scripts'],
    holds: 'scripts run by npm: generated docs, the example letter',
    mayImport: [...serverRooms, 'test-support', 'tools'],
  },
  {
    name: 'bench',
    paths: ['packages/server/bench'],
    holds: '`npm run bench`',
    mayImport: [...serverRooms, 'sdk', 'test-support'],
    sqlAnywhere: true,
  },
  {
    name: 'cli',
    paths: ['packages/cli/src', 'packages/cli/bin'],
    holds: 'the `kuvert` command (`bin/kuvert.mjs` registers tsx for `npx kuvert`)',
    mayImport: [...serverRooms, 'sdk', 'eid-simulator'],
  },
  {
    name: 'eid-simulator',
    paths: ['packages/eid-simulator/src'],
    holds:
      'a local OpenID Connect provider (oidc-provider) that answers like ID-porten, with synthetic test persons: development, the demo and the tests only',
    mayImport: [],
  },
  {
    name: 'web',
    paths: ['packages/web'],
    holds: 'the React web app',
    mayImport: [],
  },
  {
    name: 'e2e',
    paths: ['e2e'],
    holds: 'end-to-end tests in Chromium through the CLI, SMTP and the web app',
    mayImport: 'anything',
    sqlAnywhere: true,
  },
  {
    name: 'repository',
    paths: ['vitest.config.ts'],
    holds: 'the test runner’s configuration, shared by the test fixtures that run it again',
    mayImport: [],
  },
  {
    name: 'tools',
    paths: ['tools'],
    holds: 'checks of the repository itself: this architecture table and its test',
    mayImport: [],
  },
];

/**
 * The room a repository-relative file belongs to: the longest path that contains it. A test
 * belongs where its subject does (`config.test.ts` beside `config.ts`).
 */
export function roomOf(file: string): Room | undefined {
  const subject = file.replace(/\.test\.(tsx?)$/, '.$1');
  let best: { room: Room; length: number } | undefined;
  for (const room of rooms) {
    for (const folder of room.paths) {
      const inside = subject === folder || subject.startsWith(`${folder}/`);
      if (inside && (!best || folder.length > best.length)) best = { room, length: folder.length };
    }
  }
  return best?.room;
}

export const architectureTableStart =
  '<!-- architecture-table:start (generated by npm run docs:generate from tools/architecture.ts) -->';
export const architectureTableEnd = '<!-- architecture-table:end -->';

/** The table ARCHITECTURE.md shows, one row per room. */
export function architectureTable(): string {
  const rows = rooms.map((room) => {
    const where = room.paths.map((path) => `\`${path}\``).join(', ');
    const imports =
      room.mayImport === 'anything'
        ? 'anything'
        : room.mayImport.length === 0
          ? 'nothing of ours'
          : summarise(room.mayImport);
    const packages = room.packages?.length === 0 ? '; packages: `node:` built-ins only' : '';
    return `| ${room.name} | ${where} | ${room.holds} | ${imports}${packages} |`;
  });
  return [
    '| room | where | what lives there | may import |',
    '| --- | --- | --- | --- |',
    ...rows,
  ].join('\n');
}

/** A list that holds every server room reads better as those words. */
function summarise(names: readonly string[]): string {
  const everyServerRoom = serverRooms.every((room) => names.includes(room) || room === 'wiring');
  if (!everyServerRoom) return names.join(', ');
  const others = names.filter((name) => !(serverRooms as readonly string[]).includes(name));
  return ['every server room', ...others].join(', ');
}

export function withArchitectureTable(document: string): string {
  const start = document.indexOf(architectureTableStart);
  const end = document.indexOf(architectureTableEnd);
  if (start === -1 || end === -1 || end < start) {
    throw new Error('ARCHITECTURE.md lacks the architecture-table markers');
  }
  return `${document.slice(0, start + architectureTableStart.length)}\n${architectureTable()}\n${document.slice(end)}`;
}
