import type { Language } from '../db/schema.js';

/**
 * The new-letter notification, written separately in Bokmål, Nynorsk and English.
 *
 * What it may say is fixed by promise 2 of the design brief: a letter has arrived, Kuvert
 * never asks for passwords or personal data by email, and one link to the letter on the
 * service's own origin. It never names the sender or the subject and never carries content,
 * because an email can be read by whoever sees the inbox, and a notification that looked
 * like it carried the letter would teach people to trust emails that do.
 */
const nb = {
  subject: 'Du har fått et nytt brev i Kuvert',
  greeting: 'Hei,',
  phraseLabel: 'Sikkerhetsfrasen din:',
  phraseExplained:
    'Denne frasen valgte du selv i Kuvert. Står den ikke i en e-post som ser ut til å komme fra oss, er e-posten falsk.',
  arrived: 'Du har fått et nytt brev i Kuvert, den digitale postkassen din.',
  action: 'Logg inn for å lese brevet:',
  button: 'Les brevet i Kuvert',
  neverAsks:
    'Kuvert ber deg aldri om passord, koder eller personopplysninger på e-post. Får du en e-post som ber om dette, er den ikke fra oss.',
  ownWay:
    'Er du i tvil, kan du skrive inn adressen til Kuvert selv i nettleseren i stedet for å trykke på lenken.',
  why: 'Du får denne e-posten fordi e-postadressen din er registrert for varsel om ny post i Kuvert.',
  closing: 'Vennlig hilsen',
  signature: 'Kuvert',
};

type NewLetterMessages = { [K in keyof typeof nb]: string };

const nn: NewLetterMessages = {
  subject: 'Du har fått eit nytt brev i Kuvert',
  greeting: 'Hei,',
  phraseLabel: 'Tryggleiksfrasen din:',
  phraseExplained:
    'Denne frasen valde du sjølv i Kuvert. Står han ikkje i ein e-post som ser ut til å kome frå oss, er e-posten falsk.',
  arrived: 'Du har fått eit nytt brev i Kuvert, den digitale postkassa di.',
  action: 'Logg inn for å lese brevet:',
  button: 'Les brevet i Kuvert',
  neverAsks:
    'Kuvert ber deg aldri om passord, kodar eller personopplysningar på e-post. Får du ein e-post som ber om dette, er han ikkje frå oss.',
  ownWay:
    'Er du i tvil, kan du skrive inn adressa til Kuvert sjølv i nettlesaren i staden for å trykkje på lenkja.',
  why: 'Du får denne e-posten fordi e-postadressa di er registrert for varsel om ny post i Kuvert.',
  closing: 'Venleg helsing',
  signature: 'Kuvert',
};

const en: NewLetterMessages = {
  subject: 'You have a new letter in Kuvert',
  greeting: 'Hello,',
  phraseLabel: 'Your security phrase:',
  phraseExplained:
    'You chose this phrase yourself in Kuvert. An email that seems to come from us but does not show it is fake.',
  arrived: 'A new letter has arrived in Kuvert, your digital mailbox.',
  action: 'Log in to read it:',
  button: 'Read the letter in Kuvert',
  neverAsks:
    'Kuvert never asks for passwords, codes or personal details by email. If an email asks you for any of these, it is not from us.',
  ownWay:
    'If in doubt, type the address of Kuvert into your browser yourself instead of clicking the link.',
  why: 'You are receiving this email because your address is registered for new-mail notifications in Kuvert.',
  closing: 'Kind regards,',
  signature: 'Kuvert',
};

/** Every catalogue of the notification, by language; a test checks they have the same keys. */
export const newLetterCatalogues: Readonly<Record<Language, Readonly<NewLetterMessages>>> = {
  nb,
  nn,
  en,
};

export interface RenderedEmail {
  subject: string;
  text: string;
  html: string;
}

/**
 * The notification in one language, as plain text and HTML with the one link to the letter,
 * and the recipient's anti-phishing phrase near the top when they have chosen one (escaped in
 * the HTML like every other text).
 */
export function renderNewLetterEmail(options: {
  language: Language;
  publicUrl: string;
  letterId: string;
  antiPhishingPhrase?: string | null;
}): RenderedEmail {
  const words = newLetterCatalogues[options.language];
  const link = letterLink(options);
  const phrase = options.antiPhishingPhrase ?? null;
  return {
    subject: words.subject,
    text: renderText(words, link, phrase),
    html: renderHtml(words, link, options.language, phrase),
  };
}

/** Built from the configured origin only, so the link cannot point anywhere else. */
function letterLink(options: { publicUrl: string; letterId: string }): string {
  const origin = new URL(options.publicUrl).origin;
  return `${origin}/letters/${encodeURIComponent(options.letterId)}`;
}

function renderText(words: NewLetterMessages, link: string, phrase: string | null): string {
  return [
    words.greeting,
    '',
    ...(phrase === null ? [] : [`${words.phraseLabel} «${phrase}»`, words.phraseExplained, '']),
    words.arrived,
    '',
    words.action,
    link,
    '',
    words.neverAsks,
    words.ownWay,
    '',
    words.why,
    '',
    words.closing,
    words.signature,
    '',
  ].join('\n');
}

/**
 * Plain HTML with inline styles: no remote images, no scripts, no tracking pixels, and the
 * link written out in full so the reader can see where it goes before clicking.
 */
function renderHtml(
  words: NewLetterMessages,
  link: string,
  language: Language,
  phrase: string | null,
): string {
  const e = escapeHtml;
  const paragraph = 'margin:0 0 16px 0;';
  const small = 'margin:0 0 12px 0;font-size:14px;color:#444444;';
  return `<!doctype html>
<html lang="${e(language)}">
<head>
<meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1">
<title>${e(words.subject)}</title>
</head>
<body style="margin:0;padding:24px;background:#ffffff;color:#1a1a1a;font-family:Arial,Helvetica,sans-serif;font-size:16px;line-height:1.5;">
<div style="max-width:560px;margin:0 auto;">
<p style="${paragraph}">${e(words.greeting)}</p>
${phrase === null ? '' : `<p style="${paragraph}padding:12px;border:1px solid #0b4f8a;"><strong>${e(words.phraseLabel)}</strong> <span data-anti-phishing-phrase>«${e(phrase)}»</span><br><span style="font-size:14px;color:#444444;">${e(words.phraseExplained)}</span></p>\n`}<p style="${paragraph}">${e(words.arrived)}</p>
<p style="${paragraph}">${e(words.action)}</p>
<p style="${paragraph}"><a href="${e(link)}" style="color:#0b4f8a;font-weight:bold;">${e(words.button)}</a><br><span style="font-size:14px;color:#444444;">${e(link)}</span></p>
<hr style="border:none;border-top:1px solid #dddddd;margin:24px 0;">
<p style="${small}">${e(words.neverAsks)}</p>
<p style="${small}">${e(words.ownWay)}</p>
<p style="${small}">${e(words.why)}</p>
<p style="${paragraph}">${e(words.closing)}<br>${e(words.signature)}</p>
</div>
</body>
</html>
`;
}

export function escapeHtml(value: string): string {
  return value
    .replaceAll('&', '&amp;')
    .replaceAll('<', '&lt;')
    .replaceAll('>', '&gt;')
    .replaceAll('"', '&quot;')
    .replaceAll("'", '&#39;');
}
