import { isIPv6 } from 'node:net';
/**
 * A person-readable name for the device behind a User-Agent header: browser (with its major
 * version) and operating system, as a list of sessions shows them ("Firefox 133 on Windows").
 * Only the common browsers are told apart; anything else is "unknown", never the raw header,
 * which is long, unreadable and chosen by the client.
 */

export interface DeviceDescription {
  browser: string | null;
  os: string | null;
}

/** Order matters: Edge and Opera also say "Chrome", Chrome also says "Safari". */
const browsers: ReadonlyArray<{ name: string; pattern: RegExp }> = [
  { name: 'Edge', pattern: /\bEdg(?:e|A|iOS)?\/(\d+)/ },
  { name: 'Opera', pattern: /\b(?:OPR|OPiOS)\/(\d+)/ },
  { name: 'Samsung Internet', pattern: /\bSamsungBrowser\/(\d+)/ },
  { name: 'Vivaldi', pattern: /\bVivaldi\/(\d+)/ },
  { name: 'Firefox', pattern: /\b(?:Firefox|FxiOS)\/(\d+)/ },
  { name: 'Chromium', pattern: /\bChromium\/(\d+)/ },
  { name: 'Chrome', pattern: /\b(?:Chrome|CriOS)\/(\d+)/ },
  { name: 'Safari', pattern: /\bVersion\/(\d+)[.\d]*(?: Mobile\/\S+)? Safari\// },
];

const systems: ReadonlyArray<{ name: string; pattern: RegExp }> = [
  { name: 'iOS', pattern: /\b(?:iPhone|iPad|iPod)\b/ },
  { name: 'Android', pattern: /\bAndroid\b/ },
  { name: 'ChromeOS', pattern: /\bCrOS\b/ },
  { name: 'Windows', pattern: /\bWindows\b/ },
  { name: 'macOS', pattern: /\bMac OS X\b|\bMacintosh\b/ },
  { name: 'Linux', pattern: /\bLinux\b/ },
];

export function describeDevice(userAgent: string | null | undefined): DeviceDescription {
  if (!userAgent) return { browser: null, os: null };
  const browser = browsers
    .map(({ name, pattern }) => {
      const match = pattern.exec(userAgent);
      return match ? `${name} ${match[1]}` : undefined;
    })
    .find((found) => found !== undefined);
  const os = systems.find(({ pattern }) => pattern.test(userAgent))?.name;
  return { browser: browser ?? null, os: os ?? null };
}

/**
 * An address made coarse for showing: the IPv4 /24 or the IPv6 /48 it is in. Enough for the
 * owner to tell "my home network" from "somewhere else", never a full address of someone else.
 */
export function coarseNetwork(ip: unknown): string | null {
  if (typeof ip !== 'string') return null;
  const address = ip.replace(/%.*$/, '');
  const v4 = /^(?:::ffff:)?(\d{1,3})\.(\d{1,3})\.(\d{1,3})\.\d{1,3}$/i.exec(address);
  if (v4) return `${v4[1]}.${v4[2]}.${v4[3]}.0/24`;
  if (!isIPv6(address)) return null;
  const [head = '', tail] = address.toLowerCase().split('::');
  const left = head === '' ? [] : head.split(':');
  const right = tail === undefined || tail === '' ? [] : tail.split(':');
  const groups = [
    ...left,
    ...Array<string>(Math.max(0, 8 - left.length - right.length)).fill('0'),
    ...right,
  ];
  return `${groups
    .slice(0, 3)
    .map((group) => Number.parseInt(group, 16).toString(16))
    .join(':')}::/48`;
}
