import { execFile } from 'node:child_process';
import { EventEmitter } from 'node:events';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { Container } from 'inversify';
import pg from 'pg';
import { afterAll, beforeAll, describe, expect, it, vi } from 'vitest';
import { App } from '../../modules/app.js';
import { schedulerModule } from '../../modules/scheduler.module.js';
import { TOKENS, type JobRegistrar } from '../../modules/tokens.js';
import { PostgresBackend, postgresBackendModule, PostgresLock } from 'schedkit/postgres';
import { SchedkitError } from '../../src/errors/schedkit-error.js';
import type { Logger } from '../../src/observability/logger.js';
import { RecordingLogger } from '../../src/observability/recording-logger.js';
import type { Scheduler } from '../../src/scheduler/scheduler.js';
import { rejection } from '../helpers/fixtures.js';
import { postgresInstance } from '../helpers/postgres-instance.js';
import { startPostgres, type PostgresServer } from '../helpers/postgres-server.js';
import { makeCertificates, type TlsFiles } from '../helpers/tls.js';

/**
 * SPEC §10/§13, issue 14: TLS to PostgreSQL, verified in full. The server
 * has ssl=on and a certificate for 127.0.0.1 / localhost signed by a private
 * CA; its pg_hba.conf lets the application role in over TLS only
 * (`hostssl`, scram-sha-256) and rejects it without (`hostnossl ... reject`).
 *
 * - `sslmode=verify-full&sslrootcert=<CA file>` in the URL, or the CA as the
 *   pool option `ssl: { ca }` with no sslmode in the URL: the backend, the
 *   lock, a scheduler and the module work, and pg_stat_ssl shows their
 *   connections encrypted.
 * - node-postgres lets the URL's ssl settings replace the pool option's: a
 *   URL saying `sslmode=verify-full` without `sslrootcert` drops `ssl.ca`.
 * - Another CA, a certificate for another host name than the URL's, or a
 *   server without TLS: `E_BACKEND_UNAVAILABLE`. (The server's certificate
 *   and `ssl` are switched by `ALTER SYSTEM` and a reload, then back.)
 */

const run = promisify(execFile);
const ROLE = 'schedkit_tls';
const PASSWORD = 'tls-pw-for-tests-only';
const WRONG_HOST = 'db.example.invalid';

let server: PostgresServer;
let dir = '';
let files: TlsFiles;
let ca = '';
let otherCaFile = '';
let database = '';
let admin: pg.Pool;

/** Signs a server certificate `<name>.crt` for `subjectAltName` with the CA `makeCertificates` left in `dir`. */
async function signServerCertificate(name: string, subjectAltName: string): Promise<{ cert: string; key: string }> {
  const file = (suffix: string): string => join(dir, `${name}.${suffix}`);
  await run('openssl', ['req', '-new', '-newkey', 'ec', '-pkeyopt', 'ec_paramgen_curve:prime256v1', '-nodes', '-keyout', file('key'), '-out', file('csr'), '-subj', `/CN=${name}`]);
  writeFileSync(file('ext'), [`subjectAltName=${subjectAltName}`, 'basicConstraints=CA:FALSE', 'extendedKeyUsage=serverAuth', ''].join('\n'));
  await run('openssl', ['x509', '-req', '-in', file('csr'), '-CA', join(dir, 'ca.crt'), '-CAkey', join(dir, 'ca.key'), '-CAcreateserial', '-out', file('crt'), '-days', '1', '-extfile', file('ext')]);
  return { cert: readFileSync(file('crt'), 'utf8'), key: readFileSync(file('key'), 'utf8') };
}

beforeAll(async () => {
  dir = mkdtempSync(join(tmpdir(), 'schedkit-pgtls-'));
  files = await makeCertificates(dir);
  ca = readFileSync(files.caCert, 'utf8');
  const wrong = await signServerCertificate('wrong-host', `DNS:${WRONG_HOST}`);
  const otherDir = mkdtempSync(join(dir, 'other-'));
  otherCaFile = (await makeCertificates(otherDir)).caCert;
  server = await startPostgres({
    // ssl=on in postgresql.auto.conf rather than on the command line, which ALTER SYSTEM could not override.
    // The certificate and key are server.crt and server.key in the data directory (the defaults).
    hba: [`hostnossl all ${ROLE} 127.0.0.1/32 reject`, `hostssl all ${ROLE} 127.0.0.1/32 scram-sha-256`],
    files: {
      'postgresql.auto.conf': "ssl = 'on'\n",
      'server.crt': readFileSync(files.serverCert, 'utf8'),
      'server.key': readFileSync(files.serverKey, 'utf8'),
      'wrong-host.crt': wrong.cert,
      'wrong-host.key': wrong.key,
    },
  });
  ({ database } = await server.createDatabase('tls'));
  admin = new pg.Pool({ connectionString: `postgresql://${server.user}@${server.host}:${server.port}/${database}`, max: 2 });
  admin.on('error', () => undefined);
  await admin.query(`CREATE ROLE ${ROLE} LOGIN PASSWORD '${PASSWORD}'`);
  await admin.query(`GRANT CONNECT, CREATE ON DATABASE ${database} TO ${ROLE}`);
}, 60_000);

afterAll(async () => {
  await admin?.end().catch(() => undefined);
  await server?.stop();
  rmSync(dir, { recursive: true, force: true });
});

/** The app role's URL; `query` is appended as is (`sslmode=...&sslrootcert=...`). */
function urlOf(query: string, host: string = server.host): string {
  return `postgresql://${ROLE}:${PASSWORD}@${host}:${server.port}/${database}${query === '' ? '' : `?${query}`}`;
}
const verifyFull = (caFile: string): string => `sslmode=verify-full&sslrootcert=${encodeURIComponent(caFile)}`;

/** The TLS state of the server's sessions of `applicationName`. */
async function sessions(applicationName: string): Promise<Array<{ ssl: boolean; version: string | null }>> {
  const { rows } = await admin.query<{ ssl: boolean; version: string | null }>(
    'SELECT s.ssl, s.version FROM pg_stat_ssl s JOIN pg_stat_activity a USING (pid) WHERE a.application_name = $1',
    [applicationName],
  );
  return rows;
}

/** A setting as a new superuser session sees it. */
async function newSessionShows(setting: string): Promise<string> {
  const client = new pg.Client({ connectionString: `postgresql://${server.user}@${server.host}:${server.port}/${database}`, connectionTimeoutMillis: 5_000 });
  await client.connect();
  try {
    return String((await client.query(`SHOW ${setting}`)).rows[0]?.[setting]);
  } finally {
    await client.end();
  }
}

function expectEncrypted(rows: Array<{ ssl: boolean; version: string | null }>): void {
  expect(rows.length).toBeGreaterThan(0);
  for (const row of rows) expect(row).toMatchObject({ ssl: true, version: expect.stringMatching(/^TLSv1\.[23]$/) });
}

function expectUnavailable(error: unknown, reason: RegExp): void {
  expect(SchedkitError.is(error, 'E_BACKEND_UNAVAILABLE'), String(error)).toBe(true);
  expect((error as Error).message).toMatch(reason);
}

describe('PostgreSQL over TLS (verify-full)', () => {
  it('sslmode=verify-full and sslrootcert in the URL: a scheduler runs a job, the lock works, every connection is encrypted', async () => {
    const { scheduler, lock, close } = await postgresInstance({
      connection: { connectionString: `${urlOf(verifyFull(files.caCert))}&application_name=tls-url` },
      schema: 'tls_url',
    });
    try {
      const seen: unknown[] = [];
      await scheduler.register({ name: 'secure', handler: (ctx) => void seen.push(ctx.params) });
      await scheduler.start();
      await scheduler.trigger('secure', { id: 't1', params: { over: 'tls' } });
      await expect.poll(async () => (await scheduler.history('secure')).map((entry) => entry.outcome), { timeout: 10_000 }).toEqual(['success']);
      expect(seen).toEqual([{ over: 'tls' }]);
      const lease = (await lock.acquire('tls', { ttlMs: 5_000 }))!;
      await lease.extend();
      await lease.release();
      expectEncrypted(await sessions('tls-url'));
    } finally {
      await close();
    }
  });

  it('the CA as the pool option ssl: { ca }, with no sslmode in the URL', async () => {
    const backend = new PostgresBackend({ connectionString: urlOf(''), poolOptions: { ssl: { ca }, application_name: 'tls-option' }, schema: 'tls_option' });
    try {
      await backend.connect();
      expect(await backend.time()).toBeGreaterThan(0);
      expectEncrypted(await sessions('tls-option'));
    } finally {
      await backend.close();
    }
  });

  it('postgresBackendModule with a verify-full URL runs a job', async () => {
    const container = new Container();
    container.load(schedulerModule({ pollIntervalMs: 200 }), postgresBackendModule({ connectionString: urlOf(verifyFull(files.caCert)), schema: 'tls_module' }));
    container.rebind<Logger>(TOKENS.Logger).toConstantValue(new RecordingLogger());
    const runs: unknown[] = [];
    container.bind<JobRegistrar>(TOKENS.JobRegistrar).toConstantValue({
      register: (scheduler) => scheduler.register({ name: 'invoice', tenantId: 'acme', handler: (ctx) => void runs.push(ctx.params) }),
    });
    const app = new App(container, { signals: new EventEmitter(), exit: vi.fn() });
    await app.start();
    try {
      await container.get<Scheduler>(TOKENS.Scheduler).trigger('invoice', { tenantId: 'acme', params: { n: 1 } });
      await expect.poll(() => runs, { timeout: 10_000 }).toEqual([{ n: 1 }]);
    } finally {
      await app.stop();
    }
  });

  it('the role is refused without TLS', async () => {
    const backend = new PostgresBackend({ connectionString: urlOf('sslmode=disable'), schema: 'tls_url', migrate: false });
    try {
      expect(((await rejection(backend.connect())) as Error).message).toMatch(/pg_hba\.conf rejects connection .*no encryption/);
    } finally {
      await backend.close();
    }
  });

  it("sslmode in the URL replaces the pool option's ssl: verify-full without sslrootcert does not trust the private CA", async () => {
    const backend = new PostgresBackend({ connectionString: urlOf('sslmode=verify-full'), poolOptions: { ssl: { ca } }, schema: 'tls_option' });
    try {
      expectUnavailable(await rejection(backend.connect()), /certificate/);
    } finally {
      await backend.close();
    }
  });

  it('another CA: the backend, the lock and the module fail with E_BACKEND_UNAVAILABLE', async () => {
    const connectionString = urlOf(verifyFull(otherCaFile));
    const backend = new PostgresBackend({ connectionString, schema: 'tls_url', migrate: false });
    const lock = new PostgresLock({ connectionString, schema: 'tls_url', migrate: false });
    try {
      expectUnavailable(await rejection(backend.connect()), /certificate/);
      expectUnavailable(await rejection(lock.acquire('tls', { ttlMs: 1_000 })), /certificate/);
    } finally {
      await Promise.all([lock.close(), backend.close()]);
    }
    const container = new Container();
    container.load(schedulerModule(), postgresBackendModule({ connectionString, schema: 'tls_url' }));
    container.rebind<Logger>(TOKENS.Logger).toConstantValue(new RecordingLogger());
    const error = await rejection(new App(container, { signals: new EventEmitter(), exit: vi.fn() }).start());
    expect((error as Error).message).toMatch(/backend:postgres/);
    expectUnavailable(((error as { errors?: unknown[] }).errors ?? [])[0], /certificate/);
  });

  it('a certificate for another host name than the URL names: E_BACKEND_UNAVAILABLE', async () => {
    // The server switches to a certificate for db.example.invalid only, signed by the same CA.
    await reconfigure({ ssl_cert_file: 'wrong-host.crt', ssl_key_file: 'wrong-host.key' });
    try {
      const backend = new PostgresBackend({ connectionString: urlOf(verifyFull(files.caCert)), schema: 'tls_url', migrate: false });
      try {
        expectUnavailable(await rejection(backend.connect()), /altnames|does not match/i);
      } finally {
        await backend.close();
      }
      // The same CA and server with the name the certificate has: only the host name was wrong.
      const client = new pg.Client({ connectionString: urlOf(''), ssl: { ca, servername: WRONG_HOST }, connectionTimeoutMillis: 5_000 });
      await client.connect();
      expect((await client.query('SELECT ssl FROM pg_stat_ssl WHERE pid = pg_backend_pid()')).rows).toEqual([{ ssl: true }]);
      await client.end();
    } finally {
      await reconfigure({ ssl_cert_file: 'server.crt', ssl_key_file: 'server.key' });
    }
  });

  it('a server without TLS: E_BACKEND_UNAVAILABLE', async () => {
    await reconfigure({ ssl: 'off' });
    try {
      const backend = new PostgresBackend({ connectionString: urlOf(verifyFull(files.caCert)), schema: 'tls_url', migrate: false });
      try {
        expectUnavailable(await rejection(backend.connect()), /does not support SSL/);
      } finally {
        await backend.close();
      }
    } finally {
      await reconfigure({ ssl: 'on' });
    }
  });
});

/** Sets server settings (ALTER SYSTEM) and reloads; resolves once new sessions see them. */
async function reconfigure(settings: Record<string, string>): Promise<void> {
  for (const [name, value] of Object.entries(settings)) await admin.query(`ALTER SYSTEM SET ${name} = '${value}'`);
  await admin.query('SELECT pg_reload_conf()');
  // A new session forks from the postmaster once it has reloaded the settings, certificates included.
  for (const [name, value] of Object.entries(settings)) await expect.poll(() => newSessionShows(name), { timeout: 5_000 }).toBe(value);
}
