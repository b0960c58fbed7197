import { AxeBuilder } from '@axe-core/playwright';
import { KuvertClient } from '@kuvert/sdk';
import type { Browser, BrowserContext, Page } from 'playwright-core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { Runtime } from '../packages/server/src/runtime.js';
import {
  buildRecipient,
  buildSender,
  currentTotp,
  samplePdf,
  type TestRecipient,
} from '../packages/server/test/support/factories.js';
import { type E2eKuvert, startE2eKuvert } from './support/kuvert.js';

/**
 * The security settings page in Chromium: a person logged in on two
 * browsers sees both sessions, logs the other one out (which is then logged out at once), sets
 * an anti-phishing phrase, and finds it in the next notification email in the dev mail sink.
 * On http://localhost, where the session cookie has no __Host- prefix and still works.
 */
let kuvert: E2eKuvert;
let runtime: Runtime;
let browser: Browser;
let publicUrl: string;
let recipient: TestRecipient;

beforeAll(async () => {
  kuvert = await startE2eKuvert({ name: 'settings', env: () => ({ KUVERT_DEMO: 'false' }) });
  ({ runtime, browser, publicUrl } = kuvert);
  recipient = await buildRecipient(runtime.context, { language: 'en' });
}, 120_000);

afterAll(() => kuvert?.close());

/** Log in through the form; `step` picks the TOTP time step (each code works once). */
async function logIn(context: BrowserContext, step: number): Promise<Page> {
  const page = await context.newPage();
  await page.goto(`${publicUrl}/login`);
  await page.fill('#national-id', recipient.nationalId);
  await page.fill('#password', recipient.password);
  await page.fill('#totp', currentTotp(recipient.totpSecret, Date.now() + step * 30_000));
  await page.click('button[type="submit"]');
  await page.waitForURL(`${publicUrl}/`);
  return page;
}

describe('the security settings page', () => {
  it('lists both sessions, logs the other out at once, and sets the anti-phishing phrase shown in the next email', async () => {
    const laptop = await browser.newContext({
      userAgent:
        'Mozilla/5.0 (Windows NT 10.0; Win64; x64) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/131.0.0.0 Safari/537.36',
    });
    const phone = await browser.newContext({
      userAgent:
        'Mozilla/5.0 (Linux; Android 14; Pixel 8) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/131.0.0.0 Mobile Safari/537.36',
    });
    const page = await logIn(laptop, 0);
    const phonePage = await logIn(phone, 1);

    // On http://localhost the cookie keeps its bare name (no __Host- without https).
    const cookies = await laptop.cookies();
    expect(cookies.map((cookie) => cookie.name).sort()).toEqual([
      'kuvert_device',
      'kuvert_session',
    ]);

    // The nav link, by keyboard; the page heading takes focus.
    const link = page.getByRole('link', { name: 'Security settings' });
    await link.focus();
    await page.keyboard.press('Enter');
    await page.waitForURL(`${publicUrl}/settings`);
    const heading = page.getByRole('heading', { level: 1, name: 'Security settings' });
    await heading.waitFor();
    await expect
      .poll(() =>
        page.evaluate(
          () =>
            (globalThis as unknown as { document: { activeElement: { id: string } | null } })
              .document.activeElement?.id,
        ),
      )
      .toBe('settings-title');

    // Both sessions, this one marked.
    const rows = page.locator('[data-testid="session-list"] li');
    await expect.poll(() => rows.count()).toBe(2);
    const current = page.locator('[data-testid="session-list"] li[data-current="true"]');
    await expect.poll(() => current.textContent()).toContain('This device');
    expect(await current.textContent()).toContain('Chrome 131 on Windows');
    const other = page.locator('[data-testid="session-list"] li[data-current="false"]');
    expect(await other.textContent()).toContain('Chrome 131 on Android');
    await expectAccessible(page);

    // Log the phone out, by keyboard.
    await other.getByRole('button', { name: /Log out Chrome 131 on Android/ }).focus();
    await page.keyboard.press('Enter');
    await expect
      .poll(() => page.locator('[data-testid="sessions-status"]').textContent())
      .toContain('is logged out');
    await expect.poll(() => rows.count()).toBe(1);

    // The phone's next request is refused: it lands on the login page.
    await phonePage.goto(`${publicUrl}/settings`);
    await phonePage.waitForURL(/\/login/);

    // The login history shows the two logins.
    const history = page.locator('.history-table tbody tr');
    await expect.poll(() => history.count()).toBeGreaterThanOrEqual(2);

    // The anti-phishing phrase.
    const phrase = 'Purple <heron> & "tea"';
    await page.fill('#anti-phishing-phrase', phrase);
    await page.getByRole('button', { name: 'Save phrase' }).click();
    await expect
      .poll(() => page.locator('[data-testid="anti-phishing-phrase"]').textContent())
      .toBe(phrase);
    await expectAccessible(page);

    // The next notification email shows it, in text and (escaped) in HTML.
    const sender = await buildSender(runtime.context);
    const client = new KuvertClient({ baseUrl: publicUrl, key: sender.key });
    const sent = await client.sendLetter({
      recipient: { nationalId: recipient.nationalId },
      subject: 'Annual statement',
      document: { filename: 'statement.pdf', bytes: await samplePdf() },
    });
    expect(sent.status).toBe('delivered');
    const email = await waitFor(async () => {
      const response = await fetch(`${publicUrl}/dev/mail`);
      const { messages } = (await response.json()) as {
        messages: Array<{ to: string[]; text: string; html: string }>;
      };
      return messages.find((message) => message.to.includes(recipient.email));
    });
    expect(email.text).toContain(`Your security phrase: «${phrase}»`);
    expect(email.html).toContain('«Purple &lt;heron&gt; &amp; &quot;tea&quot;»');

    await laptop.close();
    await phone.close();
  }, 120_000);
});

async function expectAccessible(page: Page): Promise<void> {
  const results = await new AxeBuilder({ page })
    .withTags(['wcag2a', 'wcag2aa', 'wcag21a', 'wcag21aa'])
    .analyze();
  const serious = results.violations
    .filter((violation) => violation.impact === 'serious' || violation.impact === 'critical')
    .map((violation) => `${violation.id}: ${violation.help}`);
  expect(serious, 'accessibility of the settings page').toEqual([]);
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
