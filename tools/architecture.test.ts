import { existsSync, readdirSync, readFileSync, statSync } from 'node:fs';
import { builtinModules } from 'node:module';
import path from 'node:path';
import ts from 'typescript';
import { describe, expect, it } from 'vitest';
import { type Room, roomOf, rooms, withArchitectureTable } from './architecture.js';

/**
 * ARCHITECTURE.md made a check: every import of every source file in the repository is held
 * against the room table in `architecture.ts`, and SQL is built only in `queries.ts` files.
 * A new folder, a new import across rooms or a query in a service fails here with a message
 * that names the file, the import and the rule.
 */
const root = path.resolve(import.meta.dirname, '..');
const sourceFolders = ['packages', 'e2e', 'tools'];
const skipped = new Set(['node_modules', 'dist', 'var', 'public']);
const sourceFile = /\.(ts|tsx|mts|mjs|js)$/;

function listSources(folder: string): string[] {
  const found: string[] = [];
  for (const entry of readdirSync(path.join(root, folder), { withFileTypes: true })) {
    const relative = `${folder}/${entry.name}`;
    if (entry.isDirectory()) {
      if (!skipped.has(entry.name)) found.push(...listSources(relative));
    } else if (sourceFile.test(entry.name) && !entry.name.endsWith('.d.ts')) {
      found.push(relative);
    }
  }
  return found;
}

const sources = sourceFolders.flatMap(listSources).sort();
const workspaceSources: Record<string, string> = {
  '@kuvert/sdk': 'packages/sdk/src',
  '@kuvert/server': 'packages/server/src',
  '@kuvert/cli': 'packages/cli/src',
  '@kuvert/web': 'packages/web/src',
};
const builtins = new Set(builtinModules);

type Target = { kind: 'file'; file: string } | { kind: 'package'; name: string };

/** Where an import specifier leads: a file of ours, or a package. */
function resolveImport(from: string, specifier: string): Target {
  if (specifier.startsWith('.')) {
    return {
      kind: 'file',
      file: resolveFile(path.posix.join(path.posix.dirname(from), specifier)),
    };
  }
  for (const [name, folder] of Object.entries(workspaceSources)) {
    if (specifier === name) return { kind: 'file', file: resolveFile(`${folder}/index.ts`) };
    if (specifier.startsWith(`${name}/`)) {
      return { kind: 'file', file: resolveFile(`${folder}/${specifier.slice(name.length + 1)}`) };
    }
  }
  const parts = specifier.split('/');
  const name = specifier.startsWith('@') ? parts.slice(0, 2).join('/') : parts[0]!;
  return { kind: 'package', name };
}

/** TypeScript ESM imports name the emitted `.js`; the source is `.ts`, `.tsx` or an index. */
function resolveFile(file: string): string {
  const candidates = [
    file,
    file.replace(/\.js$/, '.ts'),
    file.replace(/\.js$/, '.tsx'),
    `${file}.ts`,
    `${file}.tsx`,
    `${file}/index.ts`,
  ];
  return (
    candidates.find((candidate) => {
      const full = path.join(root, candidate);
      return existsSync(full) && statSync(full).isFile();
    }) ?? file
  );
}

function importsOf(file: string): string[] {
  const text = readFileSync(path.join(root, file), 'utf8');
  return ts.preProcessFile(text, true, true).importedFiles.map((entry) => entry.fileName);
}

const isTest = (file: string) => /\.test\.tsx?$/.test(file);
const serverSide = new Set(['test-support', 'cli', 'bench', 'server-scripts', 'sdk']);
const serverRoomNames = rooms
  .filter((room) => room.paths.every((p) => p.startsWith('packages/server/src')))
  .map((room) => room.name);

/**
 * A test may reach further than its room: a server or CLI test sets up what it needs through
 * any server room and the test support. Tests of the SDK and the web app stay in their room.
 */
function allowedRooms(room: Room, file: string): Set<string> | 'anything' {
  if (room.mayImport === 'anything') return 'anything';
  const allowed = new Set([room.name, ...room.mayImport]);
  if (isTest(file) && (serverRoomNames.includes(room.name) || serverSide.has(room.name))) {
    if (room.name !== 'sdk') {
      for (const name of [...serverRoomNames, 'sdk', 'test-support']) allowed.add(name);
    }
  }
  return allowed;
}

function importViolations(file: string, specifiers: readonly string[]): string[] {
  const room = roomOf(file);
  if (!room) return [];
  const allowed = allowedRooms(room, file);
  const violations: string[] = [];
  for (const specifier of specifiers) {
    const target = resolveImport(file, specifier);
    if (target.kind === 'package') {
      const builtin = specifier.startsWith('node:') || builtins.has(target.name);
      if (room.packages && !builtin && !isTest(file) && !room.packages.includes(target.name)) {
        violations.push(`${file}: imports package ${target.name}; ${room.name} may not`);
      }
      continue;
    }
    const targetRoom = roomOf(target.file);
    if (!targetRoom) {
      violations.push(`${file}: imports ${specifier}, which is in no room`);
    } else if (allowed !== 'anything' && !allowed.has(targetRoom.name)) {
      const others = [...allowed].filter((name) => name !== room.name);
      violations.push(
        `${file}: imports ${specifier} (${targetRoom.name}); ${room.name} may import ${others.join(', ') || 'nothing of ours'}`,
      );
    }
  }
  return violations;
}

const sqlBuilding = [
  /\.(selectFrom|insertInto|updateTable|deleteFrom|replaceInto|mergeInto)\(/,
  /import\s*\{[^}]*\bsql\b[^}]*\}\s*from\s*'kysely'/,
  /import\s+(?!type\b)[^;]*from\s*'pg'/,
];

describe('architecture (ARCHITECTURE.md, checked)', () => {
  it('finds the source files it checks', () => {
    expect(sources.length).toBeGreaterThan(50);
    expect(sources).toContain('tools/architecture.ts');
  });

  it('every room names only rooms that exist', () => {
    const names = new Set(rooms.map((room) => room.name));
    const unknown = rooms.flatMap((room) =>
      room.mayImport === 'anything'
        ? []
        : room.mayImport.filter((name) => !names.has(name)).map((name) => `${room.name} → ${name}`),
    );
    expect(unknown).toEqual([]);
  });

  it('every source file belongs to a room (add a new folder to tools/architecture.ts)', () => {
    const homeless = sources.filter((file) => !roomOf(file));
    expect(homeless).toEqual([]);
  });

  it('every import stays within what its room may import', () => {
    const violations = sources.flatMap((file) => importViolations(file, importsOf(file)));
    expect(violations).toEqual([]);
  });

  it('names the rule a forbidden import breaks', () => {
    expect(importViolations('packages/web/src/api.ts', ['@kuvert/server/config'])).toEqual([
      'packages/web/src/api.ts: imports @kuvert/server/config (config); web may import nothing of ours',
    ]);
    expect(importViolations('packages/sdk/src/client.ts', ['pg', 'node:crypto'])).toEqual([
      'packages/sdk/src/client.ts: imports package pg; sdk may not',
    ]);
    expect(
      importViolations('packages/server/src/jobs/pg-boss-queue.ts', ['../letters/service.js']),
    ).toHaveLength(1);
  });

  it('SQL is built only in queries.ts files (and the database layer)', () => {
    const violations = sources.filter((file) => {
      const room = roomOf(file);
      if (!room || room.sqlAnywhere || isTest(file) || path.posix.basename(file) === 'queries.ts') {
        return false;
      }
      const text = readFileSync(path.join(root, file), 'utf8');
      return sqlBuilding.some((pattern) => pattern.test(text));
    });
    expect(violations).toEqual([]);
  });

  it('the table in ARCHITECTURE.md is generated from tools/architecture.ts (npm run docs:generate)', () => {
    const document = readFileSync(path.join(root, 'ARCHITECTURE.md'), 'utf8');
    expect(withArchitectureTable(document)).toBe(document);
  });
});
