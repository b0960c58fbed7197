import type { OfficialChannel } from '../config.js';
import { groupByYear, type HallOfFameEntry } from './hall-of-fame.js';
import { type Html, html } from './html.js';
import { pageTexts } from './page-text.js';
import {
  openpgpScriptPath,
  type PageLanguage,
  pageLanguages,
  publicKeyPath,
  reportScriptPath,
  reportsPath,
  sectionIds,
  securityPagePath,
  stylesheetPath,
} from './urls.js';

export interface SecurityPageInput {
  language: PageLanguage;
  publicUrl: string;
  /** KUVERT_SECURITY_CONTACT: a mailto:, tel: or https: URI. */
  contact: string;
  fingerprint: string;
  channels: readonly OfficialChannel[];
  hallOfFame: readonly HallOfFameEntry[];
}

/** The contact URI as a link whose text is what a person would type or dial. */
function contactLink(contact: string): Html {
  const shown = contact.startsWith('mailto:')
    ? decodeURIComponent(contact.slice('mailto:'.length).split('?')[0] ?? '')
    : contact.startsWith('tel:')
      ? contact.slice('tel:'.length)
      : contact;
  return html`<a href="${contact}">${shown}</a>`;
}

/** Groups of four, as gpg prints it, so a person can compare it piece by piece. */
function formatFingerprint(fingerprint: string): string {
  return fingerprint.match(/.{1,4}/g)?.join(' ') ?? fingerprint;
}

/** The security page in one language: plain HTML, no inline script or style (the CSP). */
export function renderSecurityPage(input: SecurityPageInput): string {
  const { language, publicUrl } = input;
  const text = pageTexts[language];
  const origin = html`<strong class="origin">${publicUrl}</strong>`;
  const contact = contactLink(input.contact);
  const keyLink = html`<a href="${publicKeyPath}" type="application/pgp-keys">${text.contact.keyLinkText}</a>`;
  const fingerprint = html`<code class="fingerprint">${formatFingerprint(input.fingerprint)}</code>`;

  const page = html`<!doctype html>
<html lang="${language}">
<head>
<meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1">
<meta name="referrer" content="no-referrer">
<meta name="color-scheme" content="light dark">
<title>${text.title}</title>
<link rel="canonical" href="${publicUrl}${securityPagePath(language)}">
${pageLanguages.map((other) => html`<link rel="alternate" hreflang="${other}" href="${publicUrl}${securityPagePath(other)}">\n`)}<link rel="alternate" hreflang="x-default" href="${publicUrl}${securityPagePath('nb')}">
<link rel="icon" href="/favicon.svg" type="image/svg+xml">
<link rel="stylesheet" href="${stylesheetPath}">
<script type="module" src="${reportScriptPath}"></script>
</head>
<body>
<a class="skip-link" href="#${sectionIds.main}">${text.skipLink}</a>
<header class="site-header">
<p class="brand"><a href="/">Kuvert</a></p>
<nav aria-label="${text.languageNavLabel}">
<ul class="languages">
${pageLanguages.map((other) => languageLink(other, language))}
</ul>
</nav>
</header>
<main id="${sectionIds.main}" tabindex="-1">
<h1>${text.title}</h1>
${text.lead(origin)}

<section aria-labelledby="sends">
<h2 id="sends">${text.sends.heading}</h2>
<h3>${text.sends.emailHeading}</h3>
${text.sends.email(origin)}
<h3>${text.sends.smsHeading}</h3>
${text.sends.sms(origin)}
<h3>${text.sends.letterHeading}</h3>
${text.sends.letter(origin)}
</section>

<section aria-labelledby="never">
<h2 id="never">${text.never.heading}</h2>
<p>${text.never.intro}</p>
<ul>
${text.never.items.map((item) => html`<li>${item}</li>\n`)}</ul>
</section>

<section aria-labelledby="stay-safe">
<h2 id="stay-safe">${text.staySafe.heading}</h2>
<ul>
${text.staySafe.items(origin)}
</ul>
</section>

<section aria-labelledby="contact">
<h2 id="contact">${text.contact.heading}</h2>
${text.contact.text(contact)}
${text.contact.keyText(keyLink, fingerprint)}
</section>

<section aria-labelledby="${sectionIds.report}">
<h2 id="${sectionIds.report}">${text.report.heading}</h2>
${text.report.byEmail(contact, keyLink)}
<form id="report-form" class="report-form" method="post" action="${reportsPath}" hidden
  data-key-url="${publicKeyPath}"
  data-fingerprint="${input.fingerprint}"
  data-openpgp-url="${openpgpScriptPath}"
  data-encrypting="${text.report.encrypting}"
  data-sent="${text.report.sent}"
  data-receipt-label="${text.report.receiptLabel}"
  data-failed="${text.report.failed}">
<p>${text.report.intro}</p>
<label for="report-text">${text.report.formLabel}</label>
<p id="report-hint" class="hint">${text.report.formHint}</p>
<textarea id="report-text" name="report" rows="12" required aria-describedby="report-hint"></textarea>
<button type="submit">${text.report.submit}</button>
<div id="report-status" class="report-status" role="status" aria-live="polite"></div>
</form>
</section>

<section aria-labelledby="${sectionIds.policy}">
<h2 id="${sectionIds.policy}">${text.policy.heading}</h2>
<p>${text.policy.intro}</p>
<h3>${text.policy.askHeading}</h3>
<ul>
${text.policy.askItems.map((item) => html`<li>${item}</li>\n`)}</ul>
<h3>${text.policy.promiseHeading}</h3>
<ul>
${text.policy.promiseItems.map((item) => html`<li>${item}</li>\n`)}</ul>
</section>

<section aria-labelledby="channels">
<h2 id="channels">${text.channels.heading}</h2>
${
  input.channels.length === 0
    ? html`<p>${text.channels.none}</p>`
    : html`<p>${text.channels.intro}</p>
<ul class="channels">
<li><a href="${publicUrl}/">${publicUrl}</a></li>
${input.channels.map((channel) => html`<li><a href="${channel.url}" rel="me">${channel.name}</a> <span class="url">${channel.url}</span></li>\n`)}</ul>`
}
</section>

<section aria-labelledby="${sectionIds.hallOfFame}">
<h2 id="${sectionIds.hallOfFame}">${text.hallOfFame.heading}</h2>
${hallOfFame(input.hallOfFame, text.hallOfFame)}
</section>
</main>
<footer class="site-footer">
${text.footer(origin)}
</footer>
</body>
</html>
`;
  return page.value;
}

function languageLink(other: PageLanguage, current: PageLanguage): Html {
  const name = pageTexts[other].languageName;
  return html`<li><a href="${securityPagePath(other)}" hreflang="${other}" lang="${other}"${
    other === current ? html` aria-current="page"` : ''
  }>${name}</a></li>\n`;
}

function hallOfFame(
  entries: readonly HallOfFameEntry[],
  text: { intro: string; empty: string },
): Html {
  if (entries.length === 0) return html`<p>${text.empty}</p>`;
  return html`<p>${text.intro}</p>
${groupByYear(entries).map(
  ([year, people]) => html`<h3>${year}</h3>
<ul class="hall-of-fame">
${people.map(
  (person) =>
    html`<li>${person.link ? html`<a href="${person.link}" rel="nofollow noopener">${person.name}</a>` : person.name}</li>\n`,
)}</ul>
`,
)}`;
}
