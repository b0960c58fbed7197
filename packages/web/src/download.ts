import { downloadName } from './format';

/**
 * Saves bytes we already hold as a file: no second request, and nothing but a short-lived
 * `blob:` URL of our own origin.
 */
export function saveBytes(bytes: ArrayBuffer, filename: string, contentType: string): void {
  const extension = contentType === 'application/pdf' ? '.pdf' : '';
  const url = URL.createObjectURL(new Blob([bytes], { type: contentType }));
  const link = document.createElement('a');
  link.href = url;
  link.download = extension ? downloadName(filename, extension) : downloadName(filename, '');
  link.rel = 'noopener';
  link.hidden = true;
  document.body.append(link);
  link.click();
  link.remove();
  // Give the browser time to start the download before the URL goes.
  setTimeout(() => URL.revokeObjectURL(url), 60_000);
}
