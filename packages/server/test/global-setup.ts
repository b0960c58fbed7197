import { randomBytes } from 'node:crypto';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import pg from 'pg';
import type { TestProject } from 'vitest/node';
import { connectDatabase, migrateToLatest } from '../src/db/database.js';
import { type EmbeddedDatabase, startEmbeddedPostgres } from '../src/db/embedded-postgres.js';
import { freePort } from './support/ports.js';

declare module 'vitest' {
  export interface ProvidedContext {
    /** A migrated database to copy for each test file (CREATE DATABASE … TEMPLATE). */
    templateDatabaseUrl: string;
  }
}

/**
 * One PostgreSQL per test run: the server at DATABASE_URL when set (CI runs both ways),
 * otherwise an embedded one on a free port in a fresh temporary directory, so that runs
 * never collide. A migrated template database is made once; each test file copies it.
 */
export default async function setup(project: TestProject) {
  let embedded: EmbeddedDatabase | undefined;
  let scratch: string | undefined;
  let serverUrl = process.env.DATABASE_URL;
  if (!serverUrl) {
    scratch = await mkdtemp(path.join(tmpdir(), 'kuvert-test-pg-'));
    embedded = await startEmbeddedPostgres({
      dir: scratch,
      port: await freePort(),
      database: 'postgres',
    });
    serverUrl = embedded.url;
  }

  const templateName = `kuvert_template_${randomBytes(5).toString('hex')}`;
  await adminQuery(serverUrl, `create database ${templateName}`);
  const templateUrl = withDatabase(serverUrl, templateName);
  const db = connectDatabase(templateUrl, { maxConnections: 2 });
  await migrateToLatest(db);
  await db.destroy();
  project.provide('templateDatabaseUrl', templateUrl);

  return async () => {
    await dropDatabasesLike(serverUrl, templateName);
    await embedded?.stop();
    if (scratch) await rm(scratch, { recursive: true, force: true });
  };
}

function withDatabase(url: string, database: string): string {
  const next = new URL(url);
  next.pathname = `/${database}`;
  return next.toString();
}

async function adminQuery(url: string, text: string): Promise<void> {
  const client = new pg.Client({ connectionString: url });
  await client.connect();
  try {
    await client.query(text);
  } finally {
    await client.end();
  }
}

/** Drop the template and every copy made from it in this run. */
async function dropDatabasesLike(url: string, templateName: string): Promise<void> {
  const client = new pg.Client({ connectionString: url });
  await client.connect();
  try {
    const { rows } = await client.query<{ datname: string }>(
      'select datname from pg_database where datname = $1 or datname like $2',
      [templateName, `${templateName}_copy_%`],
    );
    for (const { datname } of rows) {
      await client.query(`drop database if exists ${datname} with (force)`);
    }
  } finally {
    await client.end();
  }
}
