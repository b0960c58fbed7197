/**
 * The security page's addresses, in one place: security.txt names them, the page links them,
 * and a change here moves both.
 *
 * Locale scheme: Bokmål, the default language, has no prefix (`/security`); Nynorsk and English
 * are under `/nn/` and `/en/`. One URL per language (so each can be linked and indexed, with
 * hreflang between them), and no language guessed from headers: the page a person is sent to
 * is the page they see.
 */
export const pageLanguages = ['nb', 'nn', 'en'] as const;
export type PageLanguage = (typeof pageLanguages)[number];

export function securityPagePath(language: PageLanguage): string {
  return language === 'nb' ? '/security' : `/${language}/security`;
}

export const publicKeyPath = '/security/pgp-key.asc';
export const reportsPath = '/security/reports';
export const stylesheetPath = '/security/page.css';
export const reportScriptPath = '/security/report-form.js';
export const openpgpScriptPath = '/security/openpgp.min.mjs';

/** Fragment ids of the page's sections, the same in every language. */
export const sectionIds = {
  main: 'main',
  policy: 'policy',
  report: 'report',
  hallOfFame: 'hall-of-fame',
} as const;

export function securityUrls(publicUrl: string) {
  const page = `${publicUrl}${securityPagePath('nb')}`;
  return {
    page,
    policy: `${page}#${sectionIds.policy}`,
    reportForm: `${page}#${sectionIds.report}`,
    hallOfFame: `${page}#${sectionIds.hallOfFame}`,
    publicKey: `${publicUrl}${publicKeyPath}`,
    securityTxt: `${publicUrl}/.well-known/security.txt`,
  };
}
