import { execFile, spawn, spawnSync, type ChildProcess } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { connect } from 'node:tls';
import { promisify } from 'node:util';
import { freePort } from './loopback.js';

/**
 * A `redis-server` that speaks only TLS, on a free loopback port, with a
 * certificate signed by a throw-away CA the harness makes with the `openssl`
 * CLI (`.ci/run` installs it when missing). The plain port is off
 * (`--port 0`); clients need the CA to connect. Stopped by pid; the temp
 * directory with the keys is removed when the server exits.
 */

const run = promisify(execFile);
const HOST = '127.0.0.1';
const live = new Set<ChildProcess>();
process.once('exit', () => {
  for (const child of live) child.kill('SIGKILL');
});

export interface TlsRedisServer {
  readonly host: string;
  readonly port: number;
  readonly pid: number;
  /** `rediss://127.0.0.1:<port>`. */
  readonly url: string;
  /** The CA certificate (PEM) that signed the server's certificate: `tls: { ca }`. */
  readonly ca: string;
  /** Stops the server (SIGTERM, then SIGKILL after 5 s) and waits for its exit. */
  stop(): Promise<void>;
}

/** The files of a CA and a server certificate for 127.0.0.1 / localhost, valid for a day. */
export interface TlsFiles {
  caCert: string;
  serverCert: string;
  serverKey: string;
}

/** Makes a self-signed CA and a server certificate signed by it in `dir` (EC P-256 keys: fast). */
export async function makeCertificates(dir: string): Promise<TlsFiles> {
  if (spawnSync('sh', ['-c', 'command -v openssl'], { stdio: 'ignore' }).status !== 0) {
    throw new Error('the TLS tests need the openssl CLI on PATH (Debian/Ubuntu: apt-get install -y openssl)');
  }
  const file = (name: string): string => join(dir, name);
  const ec = ['-newkey', 'ec', '-pkeyopt', 'ec_paramgen_curve:prime256v1', '-nodes'];
  await run('openssl', [
    'req', '-x509', '-new', ...ec, '-keyout', file('ca.key'), '-out', file('ca.crt'), '-days', '1',
    '-subj', '/CN=schedkit test CA',
    '-addext', 'basicConstraints=critical,CA:TRUE', '-addext', 'keyUsage=critical,keyCertSign,cRLSign',
  ]);
  await run('openssl', ['req', '-new', ...ec, '-keyout', file('server.key'), '-out', file('server.csr'), '-subj', '/CN=127.0.0.1']);
  writeFileSync(
    file('server.ext'),
    ['subjectAltName=IP:127.0.0.1,DNS:localhost', 'basicConstraints=CA:FALSE', 'keyUsage=critical,digitalSignature,keyEncipherment', 'extendedKeyUsage=serverAuth', ''].join('\n'),
  );
  await run('openssl', [
    'x509', '-req', '-in', file('server.csr'), '-CA', file('ca.crt'), '-CAkey', file('ca.key'), '-CAcreateserial',
    '-out', file('server.crt'), '-days', '1', '-extfile', file('server.ext'),
  ]);
  return { caCert: file('ca.crt'), serverCert: file('server.crt'), serverKey: file('server.key') };
}

/** Starts a TLS-only redis-server. Retries on another port if the chosen one was taken meanwhile. */
export async function startTlsRedis(): Promise<TlsRedisServer> {
  const dir = mkdtempSync(join(tmpdir(), 'schedkit-tls-'));
  try {
    const files = await makeCertificates(dir);
    for (let attempt = 1; ; attempt++) {
      try {
        return await launch(dir, files, await freePort());
      } catch (error) {
        if (attempt >= 5) throw error;
      }
    }
  } catch (error) {
    rmSync(dir, { recursive: true, force: true });
    throw error;
  }
}

async function launch(dir: string, files: TlsFiles, port: number): Promise<TlsRedisServer> {
  const args = [
    '--port', '0', '--tls-port', String(port), '--bind', HOST,
    '--tls-cert-file', files.serverCert, '--tls-key-file', files.serverKey, '--tls-ca-cert-file', files.caCert,
    // Server authentication only: clients are not asked for a certificate.
    '--tls-auth-clients', 'no',
    '--save', '', '--appendonly', 'no', '--dir', dir, '--loglevel', 'warning',
  ];
  const child = spawn('redis-server', args, { stdio: ['ignore', 'pipe', 'pipe'] });
  live.add(child);
  let output = '';
  child.stdout?.on('data', (chunk: Buffer) => (output += chunk.toString()));
  child.stderr?.on('data', (chunk: Buffer) => (output += chunk.toString()));
  const exited = new Promise<void>((resolve) => child.once('exit', () => resolve()));
  let dead = false;
  void exited.then(() => {
    dead = true;
    live.delete(child);
  });
  const ca = readFileSync(files.caCert, 'utf8');

  const deadline = Date.now() + 10_000;
  for (;;) {
    if (dead) throw new Error(`TLS redis-server on port ${port} exited at start:\n${output}`);
    if (await pingTls(port, ca)) break;
    if (Date.now() > deadline) {
      child.kill('SIGKILL');
      await exited;
      throw new Error(`TLS redis-server on port ${port} did not answer PING within 10 s:\n${output}`);
    }
    await new Promise((resolve) => setTimeout(resolve, 25));
  }
  void exited.then(() => rmSync(dir, { recursive: true, force: true }));

  return {
    host: HOST,
    port,
    pid: child.pid!,
    url: `rediss://${HOST}:${port}`,
    ca,
    async stop() {
      if (child.exitCode !== null || child.signalCode !== null) return;
      child.kill('SIGTERM');
      const timer = setTimeout(() => child.kill('SIGKILL'), 5_000);
      await exited;
      clearTimeout(timer);
    },
  };
}

/** True when a TLS client trusting `ca` gets `+PONG` back. */
function pingTls(port: number, ca: string): Promise<boolean> {
  return new Promise((resolve) => {
    const socket = connect({ host: HOST, port, ca, servername: 'localhost' });
    let reply = '';
    const done = (ok: boolean): void => {
      socket.destroy();
      resolve(ok);
    };
    socket.setTimeout(2_000, () => done(false));
    socket.once('secureConnect', () => socket.write('PING\r\n'));
    socket.on('data', (chunk: Buffer) => {
      reply += chunk.toString();
      if (reply.includes('\r\n')) done(reply.startsWith('+PONG'));
    });
    socket.once('error', () => done(false));
  });
}
