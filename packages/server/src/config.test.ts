import path from 'node:path';
import { describe, expect, it } from 'vitest';
import { InvalidConfigError, loadConfig } from './config.js';

/** The problems loadConfig reports for an environment, or [] when it accepts it. */
function problemsOf(env: Record<string, string>): string[] {
  try {
    loadConfig(env);
    return [];
  } catch (error) {
    if (!(error instanceof InvalidConfigError)) throw error;
    return error.problems;
  }
}

const production = {
  KUVERT_ENV: 'production',
  SMTP_URL: 'smtp://mail.example:587',
  KUVERT_PUBLIC_URL: 'https://kuvert.example',
};

describe('loadConfig defaults', () => {
  it('an empty environment gives the documented defaults', () => {
    const config = loadConfig({});
    expect(config.KUVERT_ENV).toBe('development');
    expect(config.isProduction).toBe(false);
    expect(config.PORT).toBe(8080);
    expect(config.HOST).toBe('127.0.0.1');
    expect(config.KUVERT_PUBLIC_URL).toBe('http://localhost:8080');
    expect(config.DATABASE_URL).toBeUndefined();
    expect(config.SMTP_URL).toBeUndefined();
    expect(config.KUVERT_BLOB_STORE).toBe('fs');
    expect(config.LOG_LEVEL).toBe('info');
    expect(config.KUVERT_WORKERS).toBe(true);
    expect(config.KUVERT_DEMO).toBe(true);
    expect(config.KUVERT_ACCEPT_SYNTHETIC_IDS).toBe(true);
  });

  it('binds to loopback outside production unless HOST is set, to every interface in production', () => {
    expect(loadConfig({ KUVERT_ENV: 'development' }).HOST).toBe('127.0.0.1');
    expect(loadConfig({ KUVERT_ENV: 'test' }).HOST).toBe('127.0.0.1');
    expect(loadConfig({ HOST: '0.0.0.0' }).HOST).toBe('0.0.0.0');
    expect(loadConfig(production).HOST).toBe('0.0.0.0');
    expect(loadConfig({ ...production, HOST: '10.0.0.5' }).HOST).toBe('10.0.0.5');
  });

  it('the data directory defaults to ./var, resolved to an absolute path', () => {
    const config = loadConfig({});
    expect(config.KUVERT_DATA_DIR).toBe('./var');
    expect(path.isAbsolute(config.dataDir)).toBe(true);
    expect(config.dataDir).toBe(path.resolve(process.cwd(), 'var'));
  });

  it('a relative KUVERT_DATA_DIR is resolved against the working directory', () => {
    expect(loadConfig({ KUVERT_DATA_DIR: 'state/kuvert' }).dataDir).toBe(
      path.resolve('state/kuvert'),
    );
  });

  it('the default public URL follows PORT', () => {
    const config = loadConfig({ PORT: '9090' });
    expect(config.PORT).toBe(9090);
    expect(config.KUVERT_PUBLIC_URL).toBe('http://localhost:9090');
  });

  it('an empty variable counts as unset', () => {
    const config = loadConfig({ PORT: '', DATABASE_URL: '', LOG_LEVEL: '', KUVERT_ENV: '' });
    expect(config.PORT).toBe(8080);
    expect(config.DATABASE_URL).toBeUndefined();
    expect(config.LOG_LEVEL).toBe('info');
    expect(config.KUVERT_ENV).toBe('development');
  });

  it('demo data and synthetic national identity numbers are off by default in production', () => {
    const config = loadConfig(production);
    expect(config.isProduction).toBe(true);
    expect(config.KUVERT_DEMO).toBe(false);
    expect(config.KUVERT_ACCEPT_SYNTHETIC_IDS).toBe(false);
  });
});

describe('loadConfig problems', () => {
  it('reports every invalid variable together in one InvalidConfigError', () => {
    let caught: unknown;
    try {
      loadConfig({
        PORT: 'eighty',
        KUVERT_ENV: 'staging',
        LOG_LEVEL: 'verbose',
        KUVERT_WORKERS: 'maybe',
        KUVERT_BLOB_STORE: 'ftp',
      });
    } catch (error) {
      caught = error;
    }
    expect(caught).toBeInstanceOf(InvalidConfigError);
    const { problems, message } = caught as InvalidConfigError;
    for (const name of ['PORT', 'KUVERT_ENV', 'LOG_LEVEL', 'KUVERT_WORKERS', 'KUVERT_BLOB_STORE']) {
      expect(
        problems.filter((problem) => problem.startsWith(`${name} `)),
        name,
      ).toHaveLength(1);
      expect(message).toContain(name);
    }
    expect(problems).toHaveLength(5);
  });

  it('reports cross-variable rules together with invalid variables', () => {
    const problems = problemsOf({ KUVERT_ENV: 'production', LOG_LEVEL: 'loud' });
    expect(problems).toContainEqual(expect.stringMatching(/^LOG_LEVEL /));
    expect(problems).toContain('SMTP_URL must be set in production');
    expect(problems).toContain('KUVERT_PUBLIC_URL must use https in production');
  });

  it.each(['-1', '65536', '80.5', 'abc', '1e3', '0x50', ' 80'])('refuses PORT=%j', (value) => {
    const problems = problemsOf({ PORT: value });
    expect(problems).toHaveLength(1);
    expect(problems[0]).toMatch(/^PORT must be a port number/);
    expect(problems[0]).toContain(value);
  });

  it('accepts the port range bounds', () => {
    expect(loadConfig({ PORT: '65535' }).PORT).toBe(65535);
    expect(loadConfig({ PORT: '1' }).PORT).toBe(1);
  });

  it.each([
    ['a path', 'https://kuvert.example/mailbox'],
    ['a query', 'https://kuvert.example/?tenant=1'],
    ['a fragment', 'https://kuvert.example/#top'],
    ['a user name', 'https://admin@kuvert.example'],
    ['a password', 'https://:hunter2@kuvert.example'],
  ])('refuses a public URL with %s', (_what, value) => {
    const problems = problemsOf({ KUVERT_PUBLIC_URL: value });
    expect(problems).toHaveLength(1);
    expect(problems[0]).toMatch(/^KUVERT_PUBLIC_URL must be an origin only/);
  });

  it('refuses a public URL that is not an absolute http(s) URL', () => {
    expect(problemsOf({ KUVERT_PUBLIC_URL: 'kuvert.example' })[0]).toMatch(
      /^KUVERT_PUBLIC_URL must be an absolute URL/,
    );
    expect(problemsOf({ KUVERT_PUBLIC_URL: 'ftp://kuvert.example' })[0]).toMatch(
      /^KUVERT_PUBLIC_URL must use https/,
    );
  });

  it('a secret never appears in a problem message', () => {
    const problems = problemsOf({ KUVERT_PUBLIC_URL: 'https://:hunter2@kuvert.example' });
    expect(problems.join('\n')).not.toContain('hunter2');
  });

  it('normalises the public URL to its origin (trailing slash, default port, case)', () => {
    expect(loadConfig({ KUVERT_PUBLIC_URL: 'https://Kuvert.Example:443/' }).KUVERT_PUBLIC_URL).toBe(
      'https://kuvert.example',
    );
  });

  it.each([
    'security@kuvert.example',
    'http://kuvert.example/security',
    'ftp://kuvert.example',
    'mailto:security@kuvert.example\nPolicy: https://evil.example',
  ])('refuses the security contact %j (RFC 9116 §2.5.3)', (value) => {
    const problems = problemsOf({ KUVERT_SECURITY_CONTACT: value });
    expect(problems).toHaveLength(1);
    expect(problems[0]).toMatch(/^KUVERT_SECURITY_CONTACT must be a mailto:, tel: or https: URI/);
  });

  it.each(['mailto:security@kuvert.example', 'https://kuvert.example/security', 'tel:+4722000000'])(
    'accepts the security contact %j (RFC 9116 §2.5.3)',
    (value) => {
      expect(loadConfig({ KUVERT_SECURITY_CONTACT: value }).KUVERT_SECURITY_CONTACT).toBe(value);
    },
  );

  it('reads the official channels as a JSON array of https links', () => {
    const channels = [{ name: 'Kuvert på Mastodon', url: 'https://social.example/@kuvert' }];
    expect(
      loadConfig({ KUVERT_SECURITY_CHANNELS: JSON.stringify(channels) }).KUVERT_SECURITY_CHANNELS,
    ).toEqual(channels);
    expect(loadConfig({}).KUVERT_SECURITY_CHANNELS).toEqual([]);
  });

  it.each([
    'not json',
    '{"name":"x","url":"https://x.example"}',
    '[{"name":"x","url":"http://x.example"}]',
    '[{"name":"x","url":"javascript:alert(1)"}]',
    '[{"name":"","url":"https://x.example"}]',
    '[{"name":"x","url":"https://x.example","extra":1}]',
  ])('refuses the official channels %j', (value) => {
    const problems = problemsOf({ KUVERT_SECURITY_CHANNELS: value });
    expect(problems).toHaveLength(1);
    expect(problems[0]).toMatch(/^KUVERT_SECURITY_CHANNELS must be a JSON array/);
  });

  it('refuses an OpenPGP key passphrase without a key file', () => {
    expect(problemsOf({ KUVERT_OPENPGP_KEY_PASSPHRASE: 'secret' })).toEqual([
      'KUVERT_OPENPGP_KEY_PASSPHRASE is set but KUVERT_OPENPGP_KEY_FILE is not',
    ]);
  });

  it('production requires SMTP_URL', () => {
    expect(problemsOf({ ...production, SMTP_URL: '' })).toEqual([
      'SMTP_URL must be set in production',
    ]);
  });

  it('production requires an https public URL', () => {
    expect(problemsOf({ ...production, KUVERT_PUBLIC_URL: 'http://kuvert.example' })).toEqual([
      'KUVERT_PUBLIC_URL must use https in production',
    ]);
  });

  it('production reports both missing SMTP_URL and the default http public URL', () => {
    expect(problemsOf({ KUVERT_ENV: 'production' })).toEqual([
      'SMTP_URL must be set in production',
      'KUVERT_PUBLIC_URL must use https in production',
    ]);
  });

  it('accepts a complete production configuration', () => {
    expect(problemsOf(production)).toEqual([]);
  });

  it('the s3 blob store requires a bucket', () => {
    expect(problemsOf({ KUVERT_BLOB_STORE: 's3' })).toEqual([
      'KUVERT_S3_BUCKET must be set when KUVERT_BLOB_STORE=s3',
    ]);
    const config = loadConfig({ KUVERT_BLOB_STORE: 's3', KUVERT_S3_BUCKET: 'letters' });
    expect(config.KUVERT_S3_BUCKET).toBe('letters');
    expect(config.KUVERT_S3_FORCE_PATH_STYLE).toBe(false);
  });

  it.each(['true', '1', 'false', '0'])('reads the flag value %j', (value) => {
    expect(loadConfig({ KUVERT_WORKERS: value }).KUVERT_WORKERS).toBe(
      value === 'true' || value === '1',
    );
  });
});

describe('loadConfig result', () => {
  it('is frozen: assigning or adding a property throws', () => {
    const config = loadConfig({});
    expect(Object.isFrozen(config)).toBe(true);
    expect(() => {
      (config as { PORT: number }).PORT = 1;
    }).toThrow(TypeError);
    expect(() => {
      (config as unknown as Record<string, unknown>).EXTRA = 'x';
    }).toThrow(TypeError);
    expect(config.PORT).toBe(8080);
  });

  it('reads only the environment it is given', () => {
    const config = loadConfig({ PORT: '7070' });
    expect(config.PORT).toBe(7070);
    expect(loadConfig({}).PORT).toBe(8080);
  });
});
