import { testPersons } from '@kuvert/eid-simulator/persons';
import { KuvertClient } from '@kuvert/sdk';
import type { Browser, Page } from 'playwright-core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { generateSyntheticNationalId } from '../packages/server/src/mailboxes/national-id.js';
import type { Runtime } from '../packages/server/src/runtime.js';
import { startTestEid, type TestEid } from '../packages/server/test/support/eid.js';
import {
  buildSender,
  samplePdf,
  type TestSender,
} from '../packages/server/test/support/factories.js';
import { type E2eKuvert, startE2eKuvert } from './support/kuvert.js';

/**
 * eID in Chromium through the simulator over real HTTP: first-time registration with the terms
 * and an email code, login at substantial and at high, and step-up from a letter that needs
 * eid-high, back to the letter.
 */
let kuvert: E2eKuvert;
let runtime: Runtime;
let browser: Browser;
let eid: TestEid;
let publicUrl: string;
let sender: TestSender;

beforeAll(async () => {
  kuvert = await startE2eKuvert({
    name: 'eid',
    env: async (url) => {
      eid = await startTestEid(url);
      return { KUVERT_DEMO: 'false', ...eid.env };
    },
  });
  ({ runtime, browser, publicUrl } = kuvert);
  sender = await buildSender(runtime.context);
}, 120_000);

afterAll(async () => {
  await kuvert?.close();
  await eid?.simulator.close();
});

/** At the simulator's page: type the number, choose the level, log in. */
async function logInAtSimulator(page: Page, pid: string, level: 'substantial' | 'high') {
  await page.waitForURL((url) => url.href.startsWith(eid.simulator.issuer));
  await page.locator('input[name="typedPid"]').fill(pid);
  await page.locator(`input[name="acr"][value="idporten-loa-${level}"]`).check();
  await page.locator('button[value="login"]').click();
}

async function register(page: Page, pid: string) {
  await page.goto(`${publicUrl}/login`);
  await page.locator('a[href^="/api/eid/login"]').first().click({ timeout: 5000 });
  await logInAtSimulator(page, pid, 'substantial');
  await page.waitForURL((url) => url.pathname === '/register');
  await page.getByRole('heading', { name: 'Opprett postkassen din' }).waitFor();
  await expect(
    page.locator('#main, main a[href="#main"], a.skip-link').count(),
  ).resolves.toBeGreaterThan(0);
  await page.getByLabel('Jeg har lest og godtar vilkårene').check();
  await page.getByRole('button', { name: 'Opprett postkassen' }).click();
  await page.getByRole('heading', { name: 'Hvor vil du bli varslet?' }).waitFor();
}

describe('eID in Chromium through the simulator', () => {
  it('registers a new person: terms, then an email address confirmed with its code', async () => {
    const page = await browser.newPage({ locale: 'nb-NO' });
    await register(page, testPersons[0]!.pid);
    const address = `kari-${Date.now()}@example.test`;
    await page.getByLabel('E-postadresse').fill(address);
    await page.getByRole('button', { name: 'Send kode' }).first().click();
    await page.getByText('Vi har sendt en kode til e-postadressen').waitFor();
    const mail = runtime.context
      .mailSink!.messages()
      .find((message) => message.to.includes(address))!;
    const code = /\b([0-9]{6})\b/.exec(mail.text)![1]!;
    await page.getByLabel('Kode').fill(code);
    await page.getByRole('button', { name: 'Bekreft' }).click();
    await page.getByTestId('email-verified').waitFor();
    await page.getByRole('link', { name: 'Gå til innboksen' }).click();
    await page.waitForURL(`${publicUrl}/`);
    await page.close();
  });

  it.each(['substantial', 'high'] as const)('logs in at %s', async (level) => {
    const pid = generateSyntheticNationalId();
    const first = await browser.newPage({ locale: 'nb-NO' });
    await register(first, pid);
    await first.close();
    const page = await browser.newPage({ locale: 'nb-NO' });
    await page.goto(`${publicUrl}/login`);
    await page.locator('a[href^="/api/eid/login"]').first().click();
    await logInAtSimulator(page, pid, level);
    await page.waitForURL((url) => url.pathname === '/');
    const session = await page.evaluate(async () => (await fetch('/api/session')).status);
    expect(session).toBe(200);
    await page.close();
  });

  it('steps up from a letter that needs eid-high and comes back to it', async () => {
    const pid = generateSyntheticNationalId();
    const page = await browser.newPage({ locale: 'nb-NO' });
    await register(page, pid);
    const client = new KuvertClient({ baseUrl: publicUrl, key: sender.key });
    const sent = await client.sendLetter({
      recipient: { nationalId: pid },
      subject: 'Helseopplysninger',
      authLevel: 'eid-high',
      document: { filename: 'helse.pdf', bytes: await samplePdf() },
    });
    const letterId = sent.id;
    await page.goto(`${publicUrl}/`);
    await page.getByTestId('needs-step-up').waitFor({ timeout: 6000 });
    await page.getByRole('link', { name: /Helseopplysninger/ }).click();
    await page.getByTestId('step-up').waitFor({ timeout: 6000 });
    await page.getByRole('link', { name: 'Logg inn med eID og åpne brevet' }).click();
    await logInAtSimulator(page, pid, 'high');
    await page
      .waitForURL(`${publicUrl}/letters/${letterId}`, { timeout: 6000 })
      .catch(async (e) => {
        throw new Error(`at ${page.url()}`, { cause: e });
      });
    await page.getByRole('heading', { name: 'Helseopplysninger' }).waitFor({ timeout: 6000 });
    await page.locator('canvas').first().waitFor({ timeout: 6000 });
    await page.close();
  });
});
