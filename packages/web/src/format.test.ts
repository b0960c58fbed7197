import { describe, expect, it } from 'vitest';
import { downloadName, formatBytes, formatInboxDate } from './format';

describe('formatInboxDate', () => {
  const now = new Date(2026, 10, 25, 15, 0);

  it('shows the time for a letter from today', () => {
    expect(formatInboxDate(new Date(2026, 10, 25, 9, 5).toISOString(), 'en-GB', now)).toBe('09:05');
  });

  it('shows day and month for a letter from this year', () => {
    expect(formatInboxDate(new Date(2026, 2, 3, 12).toISOString(), 'en-GB', now)).toBe('3 Mar');
  });

  it('shows the year for an older letter', () => {
    expect(formatInboxDate(new Date(2024, 2, 3, 12).toISOString(), 'en-GB', now)).toBe(
      '3 Mar 2024',
    );
  });

  it('shows nothing for a date it cannot read', () => {
    expect(formatInboxDate('not a date', 'en-GB', now)).toBe('');
  });
});

describe('formatBytes', () => {
  it('uses the largest sensible unit', () => {
    expect(formatBytes(512, 'en-GB')).toBe('512 byte');
    expect(formatBytes(48_300, 'en-GB')).toBe('48.3 kB');
    expect(formatBytes(2_500_000, 'en-GB')).toBe('2.5 MB');
  });
});

describe('downloadName', () => {
  it('keeps a tidy name', () => {
    expect(downloadName('Skattemelding 2025.pdf', '.pdf')).toBe('Skattemelding 2025.pdf');
  });

  it('removes path separators and adds the extension', () => {
    expect(downloadName('../../etc/passwd', '.pdf')).toBe('_.._etc_passwd.pdf');
  });

  it('never gives an empty name', () => {
    expect(downloadName('...', '.pdf')).toBe('document.pdf');
  });
});
