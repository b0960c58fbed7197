/**
 * The body of /.well-known/security.txt (RFC 9116). Expires is required (§2.5.5) and should
 * be less than a year ahead; we always publish one that is 180 days ahead of now so the file
 * never goes stale on a long-running server.
 */
export function renderSecurityTxt(options: {
  publicUrl: string;
  contact: string;
  now: Date;
}): string {
  const expires = new Date(options.now.getTime() + 180 * 24 * 3600 * 1000);
  expires.setUTCHours(0, 0, 0, 0);
  return [
    `Contact: ${options.contact}`,
    `Expires: ${expires.toISOString().replace('.000Z', 'Z')}`,
    'Preferred-Languages: nb, nn, en',
    `Canonical: ${options.publicUrl}/.well-known/security.txt`,
    '',
  ].join('\n');
}
