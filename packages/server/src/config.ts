import { availableParallelism } from 'node:os';
import path from 'node:path';

/**
 * The one place that reads the environment. Every variable Kuvert understands is declared
 * here with its default and a description; the README's configuration table is generated
 * from this list (`npm run docs:generate`), and a test fails when the table is stale.
 */

type Env = Record<string, string | undefined>;

interface Setting<T> {
  /** What the variable does, in one sentence, for the README table. */
  description: string;
  /** The default as shown in the README. */
  shownDefault: string;
  parse(raw: string | undefined, env: Env): T;
  /** Hide the value in logs and error messages. */
  secret?: boolean;
}

class ConfigProblem extends Error {}

function text(description: string, fallback: string | ((env: Env) => string), shown?: string) {
  return {
    description,
    shownDefault: shown ?? (typeof fallback === 'string' ? fallback : ''),
    parse: (raw: string | undefined, env: Env) =>
      raw !== undefined && raw !== ''
        ? raw
        : typeof fallback === 'string'
          ? fallback
          : fallback(env),
  } satisfies Setting<string>;
}

function optionalText(description: string, shown = '(unset)', secret = false) {
  return {
    description,
    shownDefault: shown,
    secret,
    parse: (raw: string | undefined) => (raw !== undefined && raw !== '' ? raw : undefined),
  } satisfies Setting<string | undefined>;
}

function port(description: string, fallback: number) {
  return {
    description,
    shownDefault: String(fallback),
    parse: (raw: string | undefined) => {
      if (raw === undefined || raw === '') return fallback;
      // Digits only: Number() alone would also take " 80", "1e3" and "0x50".
      const value = /^[0-9]{1,5}$/.test(raw) ? Number(raw) : Number.NaN;
      if (!Number.isInteger(value) || value < 0 || value > 65535) {
        throw new ConfigProblem(`must be a port number from 0 to 65535, got "${raw}"`);
      }
      return value;
    },
  } satisfies Setting<number>;
}

function oneOf<T extends string>(description: string, choices: readonly T[], fallback: T) {
  return {
    description: `${description} One of: ${choices.join(', ')}.`,
    shownDefault: fallback,
    parse: (raw: string | undefined) => {
      if (raw === undefined || raw === '') return fallback;
      if (!(choices as readonly string[]).includes(raw)) {
        throw new ConfigProblem(`must be one of ${choices.join(', ')}, got "${raw}"`);
      }
      return raw as T;
    },
  } satisfies Setting<T>;
}

function flag(description: string, fallback: boolean | ((env: Env) => boolean), shown: string) {
  return {
    description,
    shownDefault: shown,
    parse: (raw: string | undefined, env: Env) => {
      if (raw === undefined || raw === '')
        return typeof fallback === 'boolean' ? fallback : fallback(env);
      if (raw === 'true' || raw === '1') return true;
      if (raw === 'false' || raw === '0') return false;
      throw new ConfigProblem(`must be true or false, got "${raw}"`);
    },
  } satisfies Setting<boolean>;
}

/** RFC 9116 §2.5.3: a Contact is a URI, and a web URI must be https. One line, no spaces. */
function contactUri(description: string, fallback: string) {
  return {
    description,
    shownDefault: fallback,
    parse: (raw: string | undefined) => {
      const value = raw !== undefined && raw !== '' ? raw : fallback;
      const problem = `must be a mailto:, tel: or https: URI without spaces, got "${value}"`;
      if (/\s/.test(value)) throw new ConfigProblem(problem);
      let url: URL;
      try {
        url = new URL(value);
      } catch {
        throw new ConfigProblem(problem);
      }
      if (!['mailto:', 'tel:', 'https:'].includes(url.protocol)) throw new ConfigProblem(problem);
      return value;
    },
  } satisfies Setting<string>;
}

/** An official channel the security page lists: a name and the https address of the channel. */
export interface OfficialChannel {
  name: string;
  url: string;
}

/** The operator's official channels, as a JSON array of {"name","url"}; https addresses only. */
function officialChannels(description: string) {
  return {
    description,
    shownDefault: '(unset: none)',
    parse: (raw: string | undefined): readonly OfficialChannel[] => {
      if (raw === undefined || raw === '') return [];
      const problem = `must be a JSON array of {"name": "…", "url": "https://…"}, got ${JSON.stringify(raw)}`;
      let parsed: unknown;
      try {
        parsed = JSON.parse(raw);
      } catch {
        throw new ConfigProblem(problem);
      }
      if (!Array.isArray(parsed)) throw new ConfigProblem(problem);
      return Object.freeze(
        parsed.map((entry: unknown) => {
          const { name, url } = (entry ?? {}) as Record<string, unknown>;
          const isHttps =
            typeof url === 'string' && URL.canParse(url) && url.startsWith('https://');
          const keys = entry !== null && typeof entry === 'object' ? Object.keys(entry) : [];
          if (typeof name !== 'string' || name.trim() === '' || name.length > 100 || !isHttps) {
            throw new ConfigProblem(problem);
          }
          if (keys.some((key) => key !== 'name' && key !== 'url')) throw new ConfigProblem(problem);
          return Object.freeze({ name: name.trim(), url: new URL(url).href });
        }),
      );
    },
  } satisfies Setting<readonly OfficialChannel[]>;
}

function publicUrl(description: string) {
  return {
    description,
    shownDefault: 'http://localhost:$PORT',
    parse: (raw: string | undefined, env: Env) => {
      // An invalid PORT is reported on its own; the default derived from it must not add a problem.
      const port =
        /^[0-9]{1,5}$/.test(env.PORT ?? '') && Number(env.PORT) <= 65535 ? env.PORT : '8080';
      const value = raw !== undefined && raw !== '' ? raw : `http://localhost:${port}`;
      let url: URL;
      try {
        url = new URL(value);
      } catch {
        throw new ConfigProblem(
          `must be an absolute URL such as https://kuvert.example, got "${value}"`,
        );
      }
      if (url.protocol !== 'https:' && url.protocol !== 'http:') {
        throw new ConfigProblem('must use https (or http for local development)');
      }
      if (url.pathname !== '/' || url.search || url.hash || url.username || url.password) {
        throw new ConfigProblem('must be an origin only, without path, query or credentials');
      }
      return url.origin;
    },
  } satisfies Setting<string>;
}

function count(description: string, fallback: () => number, shown: string) {
  return {
    description,
    shownDefault: shown,
    parse: (raw: string | undefined) => {
      if (raw === undefined || raw === '') return fallback();
      if (!/^[1-9]\d{0,2}$/.test(raw))
        throw new ConfigProblem(`must be a whole number from 1 to 999, got "${raw}"`);
      return Number(raw);
    },
  } satisfies Setting<number>;
}

function trustProxy(description: string) {
  return {
    description,
    shownDefault: '(unset: trust none)',
    parse: (raw: string | undefined): boolean | string[] => {
      if (raw === undefined || raw === '' || raw === 'false') return false;
      if (raw === 'true') return true;
      const addresses = raw.split(',').map((entry) => entry.trim());
      if (addresses.some((entry) => !/^[0-9a-fA-F.:/]+$/.test(entry))) {
        throw new ConfigProblem(`must be true or addresses/CIDRs, got "${raw}"`);
      }
      return addresses;
    },
  } satisfies Setting<boolean | string[]>;
}

const isDevelopment = (env: Env) => (env.KUVERT_ENV ?? 'development') !== 'production';

/** Every environment variable, in the order the README lists them. */
export const settings = {
  KUVERT_ENV: oneOf(
    'Deployment mode. `development` enables the mail sink, `/dev/mail` and the demo data; `production` disables all of them.',
    ['development', 'test', 'production'] as const,
    'development',
  ),
  PORT: port('Public HTTP port for the web app and the APIs.', 8080),
  HOST: text(
    'Address the public port binds to. Outside production only loopback by default, so that a development server (its demo sender, its mail sink at `/dev/mail`) is not reachable from the network.',
    (env) => (isDevelopment(env) ? '127.0.0.1' : '0.0.0.0'),
    '127.0.0.1 (production: 0.0.0.0)',
  ),
  KUVERT_PUBLIC_URL: publicUrl(
    'Canonical origin of the service. Every link in email and SMS points here and nowhere else.',
  ),
  KUVERT_DATA_DIR: text(
    'Directory for local state: embedded PostgreSQL, filesystem blobs, key files, demo sender keys.',
    './var',
  ),
  DATABASE_URL: optionalText(
    'PostgreSQL connection string. Unset: Kuvert starts an embedded PostgreSQL under `$KUVERT_DATA_DIR/postgres`.',
    '(unset: embedded)',
    true,
  ),
  KUVERT_EMBEDDED_PG_PORT: port('Port of the embedded PostgreSQL (loopback only).', 54329),
  KUVERT_MASTER_KEYS: optionalText(
    'Master keys as JSON `{"current":N,"keys":{"N":"<base64 32 bytes>"},"lookupKey":"<base64 32 bytes>"}`. Unset: read from `$KUVERT_DATA_DIR/keys/master-keys.json` (mode 0600), which only the first `kuvert start` on an empty database creates.',
    '(unset: key file)',
    true,
  ),
  KUVERT_BLOB_STORE: oneOf('Where encrypted documents are stored.', ['fs', 's3'] as const, 'fs'),
  KUVERT_S3_BUCKET: optionalText('S3 bucket for documents (with `KUVERT_BLOB_STORE=s3`).'),
  KUVERT_S3_REGION: text('S3 region.', 'us-east-1'),
  KUVERT_S3_ENDPOINT: optionalText('S3 endpoint URL for S3-compatible stores (unset: AWS).'),
  KUVERT_S3_ACCESS_KEY_ID: optionalText(
    'S3 access key id (unset: the AWS default chain).',
    '(unset)',
    true,
  ),
  KUVERT_S3_SECRET_ACCESS_KEY: optionalText('S3 secret access key.', '(unset)', true),
  KUVERT_S3_FORCE_PATH_STYLE: flag(
    'Use path-style S3 URLs (most S3-compatible stores need it).',
    false,
    'false',
  ),
  SMTP_URL: optionalText(
    'SMTP server for notifications, e.g. `smtps://user:pass@mail.example:465`. Unset in development: the built-in mail sink.',
    '(unset: dev mail sink)',
    true,
  ),
  SMTP_FROM: text('Sender address of notification email.', 'Kuvert <no-reply@localhost>'),
  KUVERT_DEV_SMTP_PORT: port(
    'Port of the development mail sink (loopback only; 0 picks a free port).',
    0,
  ),
  KUVERT_DKIM_DOMAIN: optionalText(
    'Domain for DKIM signing of notification email (unset: no DKIM).',
  ),
  KUVERT_DKIM_SELECTOR: text('DKIM selector.', 'kuvert'),
  KUVERT_DKIM_PRIVATE_KEY: optionalText('DKIM private key in PEM.', '(unset)', true),
  KUVERT_SECURITY_CONTACT: contactUri(
    'Contact URI for security reports, published in `/.well-known/security.txt`.',
    'mailto:security@localhost',
  ),
  KUVERT_SECURITY_CHANNELS: officialChannels(
    'The official channels the security page lists, so people can tell them from fakes: a JSON array `[{"name":"Kuvert on Mastodon","url":"https://…"}]`, https addresses only.',
  ),
  KUVERT_OPENPGP_KEY_FILE: optionalText(
    'Path to an armored OpenPGP private key for the service (signs `security.txt`, decrypts vulnerability reports). Unset: Kuvert generates one on first start under `$KUVERT_DATA_DIR/keys/openpgp-service-key.asc`.',
    '(unset: generated)',
  ),
  KUVERT_OPENPGP_KEY_PASSPHRASE: optionalText(
    'Passphrase of the key in `KUVERT_OPENPGP_KEY_FILE` (unset: the key is not encrypted).',
    '(unset)',
    true,
  ),
  KUVERT_DEMO: flag(
    'Create the demo sender and demo recipient on first start.',
    isDevelopment,
    'true outside production',
  ),
  KUVERT_ACCEPT_SYNTHETIC_IDS: flag(
    'Accept synthetic national identity numbers (test persons, month + 80).',
    isDevelopment,
    'true outside production',
  ),
  KUVERT_EID_ISSUER: optionalText(
    'OpenID Connect issuer of the national eID (ID-porten: `https://idporten.no`, test: `https://test.idporten.no`). The redirect URI to register with it is `$KUVERT_PUBLIC_URL/api/eid/callback`. Unset outside production: `kuvert start` runs the eID simulator and uses it; unset in production: no eID login.',
    '(unset: simulator outside production)',
  ),
  KUVERT_EID_CLIENT_ID: optionalText('Client id registered with the eID issuer.'),
  KUVERT_EID_CLIENT_SECRET: optionalText(
    'Client secret for the eID issuer (client_secret_basic). Set this or KUVERT_EID_PRIVATE_KEY.',
    '(unset)',
    true,
  ),
  KUVERT_EID_PRIVATE_KEY: optionalText(
    'Private key for private_key_jwt client authentication at the eID issuer, as a JWK (JSON, with `kid` and `alg`, e.g. RS256); its public half is registered with the issuer. Used instead of KUVERT_EID_CLIENT_SECRET when set.',
    '(unset)',
    true,
  ),
  KUVERT_EID_SIMULATOR_PORT: port(
    'Port of the eID simulator that `kuvert start` runs outside production when KUVERT_EID_ISSUER is unset (loopback only; 0 picks a free port).',
    0,
  ),
  KUVERT_WORKERS: flag('Run background jobs in this process.', true, 'true'),
  KUVERT_PDF_THREADS: count(
    'Child processes that inspect uploaded PDFs (pdf.js), off the event loop, each with a memory cap (the name is from when they were threads).',
    () => availableParallelism(),
    'number of CPUs',
  ),
  KUVERT_TRUST_PROXY: trustProxy(
    'Trust X-Forwarded-For from these proxies, so login rate limits and the audit log see the client address: `true` (any) or comma-separated addresses/CIDRs. Unset: the connection address is the client.',
  ),
  LOG_LEVEL: oneOf(
    'Log level.',
    ['fatal', 'error', 'warn', 'info', 'debug', 'trace', 'silent'] as const,
    'info',
  ),
} as const;

type Settings = typeof settings;
type Parsed = { -readonly [K in keyof Settings]: ReturnType<Settings[K]['parse']> };

export interface Config extends Parsed {
  /** Absolute data directory. */
  dataDir: string;
  isProduction: boolean;
}

export class InvalidConfigError extends Error {
  constructor(readonly problems: string[]) {
    super(`Invalid configuration:\n${problems.map((problem) => `  - ${problem}`).join('\n')}`);
    this.name = 'InvalidConfigError';
  }
}

/** Parse all settings, report every problem together, and freeze the result. */
export function loadConfig(env: Env = process.env): Readonly<Config> {
  const problems: string[] = [];
  const parsed: Record<string, unknown> = {};
  for (const [name, setting] of Object.entries(settings) as [string, Setting<unknown>][]) {
    try {
      parsed[name] = setting.parse(env[name], env);
    } catch (error) {
      if (!(error instanceof ConfigProblem)) throw error;
      problems.push(`${name} ${error.message}`);
    }
  }
  const values = parsed as Parsed;
  // Rules across variables run even when another variable failed, so every problem is reported
  // at once; a variable that failed to parse is absent, and each rule checks only what it read.
  if (values.KUVERT_BLOB_STORE === 's3' && !values.KUVERT_S3_BUCKET) {
    problems.push('KUVERT_S3_BUCKET must be set when KUVERT_BLOB_STORE=s3');
  }
  if (values.KUVERT_OPENPGP_KEY_PASSPHRASE && !values.KUVERT_OPENPGP_KEY_FILE) {
    problems.push('KUVERT_OPENPGP_KEY_PASSPHRASE is set but KUVERT_OPENPGP_KEY_FILE is not');
  }
  if (values.KUVERT_EID_ISSUER !== undefined) {
    if (!values.KUVERT_EID_CLIENT_ID) {
      problems.push('KUVERT_EID_CLIENT_ID must be set when KUVERT_EID_ISSUER is');
    }
    if (!values.KUVERT_EID_CLIENT_SECRET && !values.KUVERT_EID_PRIVATE_KEY) {
      problems.push(
        'KUVERT_EID_CLIENT_SECRET or KUVERT_EID_PRIVATE_KEY must be set when KUVERT_EID_ISSUER is',
      );
    }
    if (!/^https?:\/\//.test(values.KUVERT_EID_ISSUER)) {
      problems.push('KUVERT_EID_ISSUER must be an http(s) URL');
    }
  }
  if (values.KUVERT_ENV === 'production') {
    if (
      values.KUVERT_EID_ISSUER !== undefined &&
      !values.KUVERT_EID_ISSUER.startsWith('https://')
    ) {
      problems.push('KUVERT_EID_ISSUER must use https in production');
    }
    if (!values.SMTP_URL) problems.push('SMTP_URL must be set in production');
    if (values.KUVERT_DEMO === true) problems.push('KUVERT_DEMO must not be true in production');
    if (
      values.KUVERT_PUBLIC_URL !== undefined &&
      !values.KUVERT_PUBLIC_URL.startsWith('https://')
    ) {
      problems.push('KUVERT_PUBLIC_URL must use https in production');
    }
  }
  if (problems.length > 0) throw new InvalidConfigError(problems);
  return Object.freeze({
    ...values,
    dataDir: path.resolve(values.KUVERT_DATA_DIR),
    isProduction: values.KUVERT_ENV === 'production',
  });
}

/** The README's configuration table, generated from `settings`. */
export function configurationTable(): string {
  const rows = Object.entries(settings).map(([name, setting]) => {
    const cell = (value: string) => value.replaceAll('|', '\\|');
    return `| \`${name}\` | ${cell(setting.shownDefault)} | ${cell(setting.description)} |`;
  });
  return ['| variable | default | what it does |', '| --- | --- | --- |', ...rows].join('\n');
}
