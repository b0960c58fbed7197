import { execFile } from 'node:child_process';
import path from 'node:path';
import { promisify } from 'node:util';
import { AxeBuilder } from '@axe-core/playwright';
import { KuvertClient, loadSenderKey } from '@kuvert/sdk';
import type { Browser, Page } from 'playwright-core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { type DemoData, ensureDemoData } from '../packages/server/src/demo.js';
import { currentTotp } from '../packages/server/test/support/factories.js';
import { type E2eKuvert, startE2eKuvert } from './support/kuvert.js';

const run = promisify(execFile);
const repoRoot = path.resolve(import.meta.dirname, '..');

/**
 * The first letter, end to end, the way a person meets it: the CLI sends a letter as the demo
 * sender, the notification arrives in the mail sink over real SMTP, its link opens the login in
 * Chromium, the recipient logs in with passphrase and TOTP, and the PDF's first page renders.
 */
let kuvert: E2eKuvert;
let browser: Browser;
let demo: DemoData;
let dataDir: string;
let port: number;
let publicUrl: string;

beforeAll(async () => {
  kuvert = await startE2eKuvert({
    name: 'first-letter',
    prepare: async (started) => {
      demo = await ensureDemoData(started.context);
    },
  });
  ({ browser, publicUrl, dataDir, port } = kuvert);
}, 120_000);

afterAll(() => kuvert?.close());

describe('the first letter travels end to end', () => {
  it('CLI → encrypted store → email → login with TOTP → PDF rendered → sender sees read', async () => {
    // 1. The CLI sends the example letter with the demo sender's key.
    const sent = await run(
      process.execPath,
      [
        '--import',
        'tsx',
        'packages/cli/src/main.ts',
        'send',
        '--to',
        demo.recipient.nationalId,
        '--subject',
        'Velkommen til Kuvert',
        'examples/welcome-letter.pdf',
      ],
      {
        cwd: repoRoot,
        env: { ...process.env, KUVERT_DATA_DIR: dataDir, PORT: String(port), LOG_LEVEL: 'silent' },
      },
    );
    const receipt = JSON.parse(sent.stdout) as { id: string; status: string };
    expect(receipt.status).toBe('delivered');

    // 2. The notification arrives through pg-boss and SMTP in the sink, linking only to our origin.
    const email = await waitFor(async () => {
      const response = await fetch(`${publicUrl}/dev/mail`);
      const { messages } = (await response.json()) as {
        messages: Array<{ to: string[]; text: string; html: string }>;
      };
      return messages.find((message) => message.to.includes(demo.recipient.email));
    });
    const links = [...email.text.matchAll(/https?:\/\/[^\s"'<>]+/g)].map((match) => match[0]);
    expect(links.length).toBeGreaterThan(0);
    for (const link of links) expect(new URL(link).origin).toBe(publicUrl);
    expect(email.text).not.toContain('Velkommen til Kuvert');
    const letterLink = links.find((link) => link.includes(receipt.id));
    expect(letterLink).toBeDefined();

    // 3. The link opens the login; the recipient logs in with passphrase and TOTP.
    // A context of its own: axe-core injects its script per context.
    const page = await (await browser.newContext()).newPage();
    await page.goto(letterLink!);
    await page.waitForURL(/\/login/);
    await expectAccessible(page, 'login');
    await page.fill('#national-id', demo.recipient.nationalId);
    await page.fill('#password', demo.recipient.password);
    await page.fill('#totp', currentTotp(demo.recipient.totpSecret));
    await page.click('button[type="submit"]');

    // 4. Back at the letter, the first page of the PDF renders.
    await page.waitForURL(new RegExp(`/letters/${receipt.id}`));
    const firstPage = page.locator('[data-testid="pdf-page"]').first();
    await firstPage.waitFor({ state: 'visible', timeout: 30_000 });
    await page
      .locator('[data-testid="pdf-page"][data-rendered="true"]')
      .first()
      .waitFor({ timeout: 30_000 });
    const drawn = await firstPage.evaluate((canvas: unknown) => {
      const element = canvas as Canvas;
      const pixels = element
        .getContext('2d')
        .getImageData(0, 0, element.width, element.height).data;
      let dark = 0;
      for (let i = 0; i < pixels.length; i += 4) if (pixels[i]! < 128 && pixels[i + 3]! > 0) dark++;
      return { width: element.width, height: element.height, dark };
    });
    expect(drawn.width).toBeGreaterThan(100);
    expect(drawn.dark).toBeGreaterThan(100); // text was drawn, not a blank canvas
    await expectAccessible(page, 'letter');
    await page.screenshot({ path: path.join(repoRoot, 'var', 'e2e-letter.png') }).catch(() => {});

    // The inbox, too, is accessible.
    await page.goto(`${publicUrl}/`);
    await page.locator('[data-testid="letter-row"]').first().waitFor();
    await expectAccessible(page, 'inbox');

    // 5. The sender sees that the letter was read.
    const client = new KuvertClient({
      baseUrl: publicUrl,
      key: loadSenderKey(
        await import('node:fs/promises').then((fs) => fs.readFile(demo.senderKeyFile, 'utf8')),
      ),
    });
    const status = await waitFor(async () => {
      const letter = await client.getLetter(receipt.id);
      return letter.status === 'read' ? letter : undefined;
    });
    expect(status.readAt).not.toBeNull();
  }, 120_000);
});

describe('every page (promises 6 and 8)', () => {
  it.each(['/login', '/no-such-page'])(
    '%s starts with a skip-to-content link and has a language switch for nb, nn and en',
    async (path) => {
      const page = await browser.newPage();
      try {
        await page.goto(`${publicUrl}${path}`);
        await page.locator('main#main').waitFor();
        await page.keyboard.press('Tab');
        const focused = await page.evaluate(() => {
          const element = (
            globalThis as unknown as {
              document: { activeElement: { getAttribute(name: string): string | null } | null };
            }
          ).document.activeElement;
          return element?.getAttribute('href') ?? null;
        });
        expect(focused).toBe('#main');
        const languages = await page
          .locator('select#language option')
          .evaluateAll((options) =>
            options.map((option) => (option as unknown as { value: string }).value),
          );
        expect(languages.sort()).toEqual(['en', 'nb', 'nn']);
        for (const language of ['nn', 'en', 'nb']) {
          await page.selectOption('select#language', language);
          await expect.poll(() => page.getAttribute('html', 'lang')).toBe(language);
        }
      } finally {
        await page.close();
      }
    },
  );
});

/** axe-core finds no serious or critical accessibility violation (WCAG 2.1 A and AA rules). */
async function expectAccessible(page: Page, what: string): Promise<void> {
  const results = await new AxeBuilder({ page })
    .withTags(['wcag2a', 'wcag2aa', 'wcag21a', 'wcag21aa'])
    .analyze();
  const serious = results.violations
    .filter((violation) => violation.impact === 'serious' || violation.impact === 'critical')
    .map(
      (violation) =>
        `${violation.id}: ${violation.help} (${violation.nodes.map((node) => node.target.join(' ')).join(', ')})`,
    );
  expect(serious, `accessibility of the ${what} page`).toEqual([]);
}

/** The little of a browser canvas this test reads (the test itself is compiled without DOM types). */
interface Canvas {
  width: number;
  height: number;
  getContext(kind: '2d'): {
    getImageData(x: number, y: number, w: number, h: number): { data: Uint8ClampedArray };
  };
}

async function waitFor<T>(probe: () => Promise<T | undefined>, timeoutMs = 20_000): Promise<T> {
  const deadline = Date.now() + timeoutMs;
  while (Date.now() < deadline) {
    const value = await probe();
    if (value !== undefined) return value;
    await new Promise((resolve) => setTimeout(resolve, 200));
  }
  throw new Error('timed out waiting');
}
