import { execFile } from 'node:child_process';
import path from 'node:path';
import { promisify } from 'node:util';
import { AxeBuilder } from '@axe-core/playwright';
import type { Browser, Page } from 'playwright-core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { Runtime } from '../packages/server/src/runtime.js';
import { addHallOfFameEntry } from '../packages/server/src/security-page/hall-of-fame.js';
import { type E2eKuvert, startE2eKuvert } from './support/kuvert.js';

const run = promisify(execFile);
const repoRoot = path.resolve(import.meta.dirname, '..');

/**
 * The security page as people meet it, in Chromium: the three languages pass axe-core, work
 * from the keyboard and without JavaScript; a report typed into the form is encrypted in the
 * page, and only `kuvert reports show` (the CLI, with the private key) reads it back.
 */
let kuvert: E2eKuvert;
let runtime: Runtime;
let browser: Browser;
let dataDir: string;
let databaseUrl: string;
let publicUrl: string;

const pages = [
  { path: '/security', language: 'nb' },
  { path: '/nn/security', language: 'nn' },
  { path: '/en/security', language: 'en' },
] as const;

beforeAll(async () => {
  kuvert = await startE2eKuvert({
    name: 'security',
    env: () => ({
      KUVERT_SECURITY_CONTACT: 'mailto:security@kuvert.test',
      KUVERT_SECURITY_CHANNELS: JSON.stringify([
        { name: 'Kuvert på Mastodon', url: 'https://social.example/@kuvert' },
      ]),
      KUVERT_WORKERS: 'false',
    }),
    prepare: async ({ context }) => {
      await addHallOfFameEntry({
        db: context.db,
        keys: context.keys,
        name: 'Ada Lovelace',
        year: 2026,
        link: 'https://ada.example',
        actor: 'test',
      });
      await addHallOfFameEntry({
        db: context.db,
        keys: context.keys,
        name: 'Grace',
        year: 2025,
        actor: 'test',
      });
    },
  });
  ({ runtime, browser, publicUrl, dataDir, databaseUrl } = kuvert);
}, 120_000);

afterAll(() => kuvert?.close());

describe('the security page in Chromium', () => {
  it.each(pages)(
    '$path: axe-core finds no violation, with the form shown',
    async ({ path: pagePath, language }) => {
      const context = await browser.newContext();
      const page = await context.newPage();
      // Everything the page loads answers; the favicon belongs to the web app's build.
      const failed: string[] = [];
      page.on('response', (response) => {
        const url = new URL(response.url());
        if (response.status() >= 400 && !url.pathname.startsWith('/favicon')) failed.push(url.href);
      });
      const errors: string[] = [];
      page.on('pageerror', (error) => errors.push(error.message));
      try {
        const response = await page.goto(`${publicUrl}${pagePath}`);
        expect(response?.headers()['content-language']).toBe(language);
        expect(await page.getAttribute('html', 'lang')).toBe(language);
        // The script ran (under the strict CSP) and showed the form.
        await page.locator('#report-form').waitFor({ state: 'visible' });
        await expectNoViolation(page, pagePath);
        expect(failed).toEqual([]);
        expect(errors).toEqual([]);
      } finally {
        await context.close();
      }
    },
  );

  it.each(pages)(
    '$path: the first Tab reaches the skip link, which moves to the content',
    async ({ path: pagePath }) => {
      const page = await browser.newPage();
      try {
        await page.goto(`${publicUrl}${pagePath}`);
        await page.keyboard.press('Tab');
        expect(await page.evaluate(activeElementAttribute, 'href')).toBe('#main');
        await page.keyboard.press('Enter');
        await expect.poll(() => page.evaluate(activeElementAttribute, 'id')).toBe('main');
      } finally {
        await page.close();
      }
    },
  );

  it('the language switch leads to each version', async () => {
    const page = await browser.newPage();
    try {
      await page.goto(`${publicUrl}/security`);
      for (const { path: pagePath, language } of [pages[1], pages[2], pages[0]]) {
        await page.click(`nav .languages a[hreflang="${language}"]`);
        await page.waitForURL(`${publicUrl}${pagePath}`);
        expect(await page.getAttribute('html', 'lang')).toBe(language);
      }
    } finally {
      await page.close();
    }
  });

  it('without JavaScript the page reads fully and says how to email the team', async () => {
    const context = await browser.newContext({ javaScriptEnabled: false });
    const page = await context.newPage();
    try {
      await page.goto(`${publicUrl}/en/security`);
      expect(await page.locator('#report-form').isVisible()).toBe(false);
      await expect(page.getByText('JavaScript is turned off').isVisible()).resolves.toBe(true);
      expect(await page.locator('#hall-of-fame ~ h3').allTextContents()).toEqual(['2026', '2025']);
      // (axe-core needs JavaScript to run; the same pages pass it above.)
    } finally {
      await context.close();
    }
  });
});

describe('reporting a vulnerability', () => {
  it('the page encrypts the report; only ciphertext travels and is stored; the CLI decrypts it', async () => {
    const report = `Stored XSS in the subject line.\nSteps: send a letter with subject <svg onload=alert(1)>.\nReach me at researcher@example.org — æøå ${Date.now()}`;
    const page = await browser.newPage();
    const posted: string[] = [];
    page.on('request', (request) => {
      if (request.method() === 'POST') posted.push(request.postData() ?? '');
    });
    try {
      await page.goto(`${publicUrl}/en/security`);
      await page.locator('#report-form').waitFor({ state: 'visible' });
      await page.fill('#report-text', report);
      await page.click('#report-form button[type="submit"]');
      const receipt = await page.locator('#report-receipt').textContent({ timeout: 30_000 });
      expect(receipt).toMatch(/^[0-9a-f-]{36}$/);
      await expect
        .poll(() => page.locator('#report-status').textContent())
        .toContain('We have received your report');

      // What left the browser was ciphertext only.
      expect(posted).toHaveLength(1);
      const { ciphertext } = JSON.parse(posted[0]!) as { ciphertext: string };
      expect(ciphertext).toMatch(/^-----BEGIN PGP MESSAGE-----/);
      expect(posted[0]).not.toContain('XSS');

      // What the database holds is ciphertext only.
      const row = await runtime.context.db
        .selectFrom('vulnerability_reports')
        .selectAll()
        .where('id', '=', receipt!)
        .executeTakeFirstOrThrow();
      expect(row.ciphertext).not.toContain('XSS');

      // The CLI, with the service's private key, reads the original text back.
      const env = {
        ...process.env,
        KUVERT_DATA_DIR: dataDir,
        DATABASE_URL: databaseUrl,
        KUVERT_PUBLIC_URL: publicUrl,
        LOG_LEVEL: 'silent',
      };
      const shown = await run(
        process.execPath,
        ['--import', 'tsx', 'packages/cli/src/main.ts', 'reports', 'show', receipt!],
        { cwd: repoRoot, env },
      );
      expect(shown.stdout).toContain(`Report ${receipt}`);
      expect(shown.stdout).toContain('Status: new');
      expect(shown.stdout).toContain(`\n\n${report}\n`);

      const listed = await run(
        process.execPath,
        ['--import', 'tsx', 'packages/cli/src/main.ts', 'reports', 'list'],
        { cwd: repoRoot, env },
      );
      expect(JSON.parse(listed.stdout)).toEqual([
        expect.objectContaining({ id: receipt, status: 'new' }),
      ]);
    } finally {
      await page.close();
    }
  }, 120_000);
});

/** axe-core, every rule it runs by default (WCAG 2.x A/AA and best practices): no violation. */
async function expectNoViolation(page: Page, what: string): Promise<void> {
  const results = await new AxeBuilder({ page }).analyze();
  const violations = results.violations.map(
    (violation) =>
      `${violation.id} (${violation.impact}): ${violation.help} (${violation.nodes.map((node) => node.target.join(' ')).join(', ')})`,
  );
  expect(violations, `accessibility of ${what}`).toEqual([]);
}

/** Runs in the page: an attribute of the focused element (the test is compiled without DOM types). */
function activeElementAttribute(name: string): string | null {
  const element = (
    globalThis as unknown as {
      document: { activeElement: { getAttribute(name: string): string | null } | null };
    }
  ).document.activeElement;
  return element?.getAttribute(name) ?? null;
}
