import path from 'node:path';
import { AxeBuilder } from '@axe-core/playwright';
import type { Browser, BrowserContext, Page } from 'playwright-core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { sessionCookieNameFor, startSession } from '../packages/server/src/auth/sessions.js';
import type { Runtime } from '../packages/server/src/runtime.js';
import { buildRecipient, currentTotp } from '../packages/server/test/support/factories.js';
import { type E2eKuvert, startE2eKuvert } from './support/kuvert.js';

/**
 * The login methods from the outside, in Debian's Chromium. A person
 * whose mailbox came from eID sets a passphrase (seeing the strength estimate), sets up the
 * authenticator app from its QR page, and logs in with passphrase + TOTP and then with a
 * recovery code; another registers a passkey with Chromium's virtual authenticator (CDP
 * WebAuthn domain) and logs in with it alone, typing nothing.
 */
const repoRoot = path.resolve(import.meta.dirname, '..');
let kuvert: E2eKuvert;
let runtime: Runtime;
let browser: Browser;
let publicUrl: string;

beforeAll(async () => {
  // localhost is a secure context, so WebAuthn works over http here; the RP ID is "localhost".
  kuvert = await startE2eKuvert({ name: 'methods', env: () => ({ KUVERT_WORKERS: 'false' }) });
  ({ runtime, browser, publicUrl } = kuvert);
}, 120_000);

afterAll(() => kuvert?.close());

/** An English-speaking context, so the steps below can name buttons by their text. */
async function englishContext(): Promise<BrowserContext> {
  const context = await browser.newContext({ locale: 'en-GB' });
  // The language the switch remembers (a string: e2e's types know no DOM).
  await context.addInitScript("localStorage.setItem('kuvert.language', 'en')");
  return context;
}

async function logOut(page: Page): Promise<void> {
  await page.locator('.logout button').click();
  await page.waitForURL(/\/login/);
}

async function logInWithPassphrase(
  page: Page,
  login: { nationalId: string; passphrase: string },
  secondFactor: { totp: string } | { recoveryCode: string },
): Promise<void> {
  await page.fill('#national-id', login.nationalId);
  await page.fill('#password', login.passphrase);
  if ('totp' in secondFactor) {
    await page.fill('#totp', secondFactor.totp);
  } else {
    await page.getByRole('button', { name: 'Use a recovery code instead' }).click();
    await page.fill('#recovery-code', secondFactor.recoveryCode);
  }
  await page.locator('form button[type="submit"]').click();
  // Logged in: back where the app was (the settings page that lost its session) or the inbox.
  await page.waitForURL((url) => url.pathname !== '/login');
}

describe('passphrase and authenticator app, set up from settings', () => {
  it('an eID-made mailbox gets a passphrase and TOTP, then logs in with them and with a recovery code', async () => {
    const recipient = await buildRecipient(runtime.context, { language: 'en' });
    // As the eID registration leaves a mailbox: neither a passphrase nor an authenticator yet,
    // and the person is logged in with eID (that login is another part of the issue).
    await runtime.context.db
      .updateTable('mailboxes')
      .set({ password_hash: null, totp_secret_sealed: null })
      .where('id', '=', recipient.mailboxId)
      .execute();
    const eid = await startSession({
      db: runtime.context.db,
      mailboxId: recipient.mailboxId,
      authLevel: 'eid-substantial',
      userAgent: 'e2e',
    });
    const context = await englishContext();
    await context.addCookies([
      { name: sessionCookieNameFor(publicUrl), value: eid.token, url: publicUrl },
    ]);
    const page = await context.newPage();

    await page.goto(`${publicUrl}/settings`);
    await page.getByRole('heading', { name: 'Login methods', level: 2 }).waitFor();
    await expect
      .poll(() => page.locator('#passphrase').textContent())
      .toContain('no passphrase yet');

    // The estimate speaks in words as the person types: too short, then too easy, then strong.
    const strength = page.locator('#new-passphrase-strength .strength-text');
    await page.fill('#new-passphrase', 'sommer2023');
    await expect.poll(() => strength.textContent()).toContain('Too short');
    await page.fill('#new-passphrase', 'sommerhytta2023');
    await expect.poll(() => strength.textContent()).toContain('guessed too easily');
    const passphrase = 'lantern meadow copper violin';
    await page.fill('#new-passphrase', passphrase);
    await expect.poll(() => strength.textContent()).toContain('Strong');
    await expectAccessible(page, 'settings with the strength estimate');
    await page.getByRole('button', { name: 'Save passphrase' }).click();
    await expect
      .poll(() => page.locator('#passphrase').textContent())
      .toContain('Your passphrase is saved');

    // The authenticator app: QR code, the key as text, then a first code to confirm.
    await page.getByRole('button', { name: 'Set up the authenticator app' }).click();
    const qr = page.getByRole('img', { name: 'QR code to add Kuvert to your authenticator app' });
    await qr.waitFor();
    const secret = ((await page.getByTestId('totp-secret').textContent()) ?? '').replace(
      /\s+/g,
      '',
    );
    expect(secret).toMatch(/^[A-Z2-7]{32}$/);
    await page.getByText('Show the setup link to copy').click();
    expect(await page.inputValue('#otpauth-uri')).toContain(`secret=${secret}`);
    await expectAccessible(page, 'the authenticator enrolment');
    await page
      .screenshot({ path: path.join(repoRoot, 'var', 'e2e-totp-enrolment.png'), fullPage: true })
      .catch(() => {});
    const now = Date.now();
    await page.fill('#totp-confirm', currentTotp(secret, now));
    await page.getByRole('button', { name: 'Confirm' }).click();
    const codes = page.getByRole('list', { name: 'Recovery codes' }).locator('code');
    await codes.first().waitFor();
    const recoveryCodes = await codes.allTextContents();
    expect(recoveryCodes).toHaveLength(10);
    await page.getByRole('button', { name: 'I have saved them' }).click();
    await expect
      .poll(() => page.locator('#recovery-codes').textContent())
      .toContain('You have 10 unused recovery codes');

    // Passphrase and TOTP (the next step: the confirming code is spent).
    await logOut(page);
    await logInWithPassphrase(
      page,
      { nationalId: recipient.nationalId, passphrase },
      { totp: currentTotp(secret, now + 30_000) },
    );

    // And a recovery code instead of the phone, typed in capitals.
    await logOut(page);
    await logInWithPassphrase(
      page,
      { nationalId: recipient.nationalId, passphrase },
      { recoveryCode: recoveryCodes[0]!.toUpperCase() },
    );
    await page.goto(`${publicUrl}/settings`);
    await expect
      .poll(() => page.locator('#recovery-codes').textContent())
      .toContain('You have 9 unused recovery codes');
    await context.close();
  }, 120_000);

  it('the login page offers a passkey, a recovery code and a way back in through eID', async () => {
    const context = await englishContext();
    const page = await context.newPage();
    await page.goto(`${publicUrl}/login`);
    const forgot = page.getByRole('link', { name: 'Forgot your passphrase?' });
    expect(await forgot.getAttribute('href')).toBe('/api/eid/login?returnTo=/settings');
    await page.getByRole('button', { name: 'Log in with a passkey' }).waitFor();
    await page.getByRole('button', { name: 'Use a recovery code instead' }).click();
    await page.locator('#recovery-code').waitFor();
    await expectAccessible(page, 'login with a recovery code');
    await page
      .screenshot({ path: path.join(repoRoot, 'var', 'e2e-login-options.png'), fullPage: true })
      .catch(() => {});
    await context.close();
  });
});

describe('passkeys with Chromium’s virtual authenticator', () => {
  it('registers a passkey in settings and logs in with it alone', async () => {
    const recipient = await buildRecipient(runtime.context, { language: 'en' });
    const context = await englishContext();
    const page = await context.newPage();
    // A platform authenticator with user verification and resident keys, always consenting.
    const cdp = await context.newCDPSession(page);
    await cdp.send('WebAuthn.enable');
    const { authenticatorId } = await cdp.send('WebAuthn.addVirtualAuthenticator', {
      options: {
        protocol: 'ctap2',
        transport: 'internal',
        hasResidentKey: true,
        hasUserVerification: true,
        isUserVerified: true,
        automaticPresenceSimulation: true,
      },
    });

    await page.goto(`${publicUrl}/login?returnTo=/settings`);
    await page.fill('#national-id', recipient.nationalId);
    await page.fill('#password', recipient.password);
    await page.fill('#totp', currentTotp(recipient.totpSecret));
    await page.locator('form button[type="submit"]').click();
    await page.waitForURL(/\/settings$/);

    await page.getByRole('heading', { name: 'Passkeys' }).waitFor();
    await page.fill('#passkey-name', 'Chromium');
    await page.getByRole('button', { name: 'Add a passkey' }).click();
    await expect
      .poll(() => page.locator('#passkeys').textContent())
      .toContain('The passkey «Chromium» is added');
    const stored = await cdp.send('WebAuthn.getCredentials', { authenticatorId });
    expect(stored.credentials).toHaveLength(1);
    expect(stored.credentials[0]?.isResidentCredential).toBe(true);
    expect(stored.credentials[0]?.rpId).toBe('localhost');
    await expectAccessible(page, 'settings with a passkey');
    await page
      .screenshot({ path: path.join(repoRoot, 'var', 'e2e-passkeys.png'), fullPage: true })
      .catch(() => {});

    // Passwordless: nothing typed, the authenticator offers its discoverable credential.
    await logOut(page);
    await page.getByRole('button', { name: 'Log in with a passkey' }).click();
    await page.waitForURL((url) => url.pathname !== '/login');
    const sessions = await runtime.context.db
      .selectFrom('sessions')
      .select(['auth_level'])
      .where('mailbox_id', '=', recipient.mailboxId)
      .where('revoked_at', 'is', null)
      .execute();
    expect(sessions.map((session) => session.auth_level)).toEqual(['two-factor']);

    // Removed in settings, the passkey logs in no more.
    await page.goto(`${publicUrl}/settings`);
    await page.getByRole('button', { name: 'Remove the passkey Chromium' }).click();
    await page.getByRole('button', { name: 'Yes, remove the passkey Chromium' }).click();
    await expect
      .poll(() => page.locator('#passkeys').textContent())
      .toContain('You have no passkeys yet');
    await logOut(page);
    await page.getByRole('button', { name: 'Log in with a passkey' }).click();
    await expect
      .poll(() => page.locator('.passkey-login').textContent())
      .toContain("We couldn't log you in with that passkey");
    await context.close();
  }, 120_000);
});

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
  expect(serious, `accessibility of ${what}`).toEqual([]);
}
