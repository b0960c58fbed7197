import { readdirSync, readFileSync } from 'node:fs';
import path from 'node:path';
import { describe, expect, it } from 'vitest';
import en from './en.json';
import nb from './nb.json';
import nn from './nn.json';

/**
 * Promise 8 and the house style: the nb, nn and en catalogues stay complete. A key in one is in
 * all, no value is empty, every `t('…')` in the source exists, and the placeholders match.
 */
const catalogues = { nb, nn, en } as const;
type Name = keyof typeof catalogues;
const names = Object.keys(catalogues) as Name[];

function flatten(value: unknown, prefix = ''): Map<string, unknown> {
  const out = new Map<string, unknown>();
  if (typeof value === 'object' && value !== null && !Array.isArray(value)) {
    for (const [key, child] of Object.entries(value)) {
      for (const [k, v] of flatten(child, prefix ? `${prefix}.${key}` : key)) out.set(k, v);
    }
  } else {
    out.set(prefix, value);
  }
  return out;
}

const flat = Object.fromEntries(names.map((name) => [name, flatten(catalogues[name])])) as Record<
  Name,
  Map<string, unknown>
>;

const pluralSuffixes = ['_zero', '_one', '_two', '_few', '_many', '_other'];

/** A key used in code exists when it is there as is, or as plural forms (`key_one`, `key_other`). */
function hasKey(catalogue: Map<string, unknown>, key: string): boolean {
  return catalogue.has(key) || catalogue.has(`${key}_other`);
}

const srcDir = path.resolve(import.meta.dirname, '..');

function sourceFiles(dir: string): string[] {
  return readdirSync(dir, { withFileTypes: true }).flatMap((entry) => {
    const full = path.join(dir, entry.name);
    if (entry.isDirectory()) return sourceFiles(full);
    return /\.tsx?$/.test(entry.name) && !/\.test\.tsx?$/.test(entry.name) ? [full] : [];
  });
}

/** Every literal key in `t('key')`, `t("key")` or `t(`key`)` calls, with where it is. */
function usedKeys(): Array<{ key: string; file: string }> {
  const uses: Array<{ key: string; file: string }> = [];
  for (const file of sourceFiles(srcDir)) {
    const text = readFileSync(file, 'utf8');
    for (const match of text.matchAll(/\bt\(\s*(['"`])([^'"`$]+)\1/g)) {
      uses.push({ key: match[2] ?? '', file: path.relative(srcDir, file) });
    }
  }
  return uses;
}

function placeholders(value: unknown): string[] {
  return [...String(value).matchAll(/\{\{\s*([\w.]+)\s*\}\}/g)].map((m) => m[1] ?? '').sort();
}

describe('translation catalogues', () => {
  it.each(names)('%s has every key the other catalogues have', (name) => {
    const missing = names
      .filter((other) => other !== name)
      .flatMap((other) => [...flat[other].keys()].filter((key) => !flat[name].has(key)));
    expect([...new Set(missing)]).toEqual([]);
  });

  it.each(names)('%s has no empty or non-text value', (name) => {
    const bad = [...flat[name]].filter(([, v]) => typeof v !== 'string' || v.trim() === '');
    expect(bad.map(([key]) => key)).toEqual([]);
  });

  it.each(names)('%s has every key the source uses', (name) => {
    const uses = usedKeys();
    expect(uses.length).toBeGreaterThan(40);
    const missing = uses.filter(({ key }) => !hasKey(flat[name], key));
    expect(missing.map(({ key, file }) => `${key} (${file})`)).toEqual([]);
  });

  it('uses the same placeholders in every language', () => {
    const mismatched = [...flat.nb.keys()].filter((key) => {
      const expected = placeholders(flat.nb.get(key));
      return names.some((name) => placeholders(flat[name].get(key)).join() !== expected.join());
    });
    expect(mismatched).toEqual([]);
  });

  it('gives every plural key its "other" form', () => {
    const incomplete = names.flatMap((name) =>
      [...flat[name].keys()]
        .filter((key) => pluralSuffixes.some((suffix) => key.endsWith(suffix)))
        .map((key) => key.replace(/_(zero|one|two|few|many|other)$/, ''))
        .filter((base) => !flat[name].has(`${base}_other`))
        .map((base) => `${name}: ${base}`),
    );
    expect(incomplete).toEqual([]);
  });

  it('finds no unused keys', () => {
    const used = new Set(usedKeys().map(({ key }) => key));
    const unused = [...flat.nb.keys()].filter(
      (key) => !used.has(key) && !used.has(key.replace(/_(zero|one|two|few|many|other)$/, '')),
    );
    expect(unused).toEqual([]);
  });
});

describe('Nynorsk is written as Nynorsk, Bokmål as Bokmål', () => {
  // Words that exist in one written standard only; each one here is a slip into the other.
  const words = (list: string[]) => new RegExp(`(?<!\\p{L})(${list.join('|')})(?!\\p{L})`, 'iu');
  const bokmalOnly = words([
    'ikke',
    'jeg',
    'hva',
    'hvis',
    'hvordan',
    'hvor',
    'noen',
    'noe',
    'mye',
    'være',
    'fra',
    'bare',
    'kommer',
    'deres',
    'vennligst',
    'brevene',
    'mottatt',
    'finnes',
    'hoved\\p{L}*',
    'innhold\\p{L}*',
  ]);
  const nynorskOnly = words([
    'ikkje',
    'eg',
    'kva',
    'korleis',
    'kvar',
    'nokon',
    'noko',
    'nokre',
    'mykje',
    'vere',
    'frå',
    'berre',
    'kjem',
    'dykk',
    'motteke',
    'finst',
    'hovud\\p{L}*',
    'innhald\\p{L}*',
    'òg',
  ]);

  it('recognises slips in either direction', () => {
    expect(bokmalOnly.test('Vi får ikke kontakt')).toBe(true);
    expect(bokmalOnly.test('Hopp til hovedinnholdet')).toBe(true);
    expect(nynorskOnly.test('6 siffer frå appen.')).toBe(true);
    expect(nynorskOnly.test('Fann ikkje sida')).toBe(true);
    expect(bokmalOnly.test('Vi får ikkje kontakt')).toBe(false);
  });

  it('has no Bokmål forms in nn', () => {
    const slips = [...flat.nn].filter(([, v]) => bokmalOnly.test(String(v)));
    expect(slips.map(([key, v]) => `${key}: ${String(v)}`)).toEqual([]);
  });

  it('has no Nynorsk forms in nb', () => {
    const slips = [...flat.nb].filter(([, v]) => nynorskOnly.test(String(v)));
    expect(slips.map(([key, v]) => `${key}: ${String(v)}`)).toEqual([]);
  });
});
