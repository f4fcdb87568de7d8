import { randomBytes, timingSafeEqual } from 'node:crypto';
import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import { ConfigError, SchedkitError } from '../errors/schedkit-error.js';
import { show } from '../errors/messages.js';
import type { JsonValue } from '../job/job-definition.js';
import type { DashboardSource } from './dashboard-source.js';
import type { Html } from './html.js';
import { errorPage, jobPage, jobsPage, type PageFrame } from './pages.js';

/** Options of `Dashboard`. */
export interface DashboardOptions {
  /** The scheduler (in the app) or a `SchedulerClient` (beside it). */
  source: DashboardSource;
  /** @default 8790 (0: any free port) */
  port?: number;
  /** The address to listen on: loopback unless you say otherwise. @default '127.0.0.1' */
  host?: string;
  /**
   * Needed, in an `Authorization: Bearer` header, by every change (trigger,
   * pause, resume, cancel); at least 16 characters. Without one the
   * dashboard is read-only.
   */
  token?: string;
  /** @default 'schedkit' */
  title?: string;
}

/** Largest request body accepted (a trigger's params are at most `maxParamsBytes`, 64 KiB by default). */
const MAX_BODY_BYTES = 256 * 1024;
const ACTIONS = new Set(['trigger', 'pause', 'resume', 'cancel']);

/**
 * A small web page of the jobs (status, schedule, next and last run, last
 * error, counts), a job's history, the pending runs, and buttons to trigger,
 * pause, resume and cancel. Server-rendered HTML with one inline script
 * under a strict Content-Security-Policy; every stored string escaped.
 * Reads need nothing; changes need the token in a header (no cookie, so
 * another site cannot forge one: there is nothing for CSRF to ride on).
 *
 * @example
 * const dashboard = new Dashboard({ source: scheduler, token: process.env.DASHBOARD_TOKEN });
 * const { url } = await dashboard.start(); // http://127.0.0.1:8790/
 * // ... on shutdown:
 * await dashboard.stop();
 */
export class Dashboard {
  private readonly source: DashboardSource;
  private readonly port: number;
  private readonly host: string;
  private readonly token: Buffer | undefined;
  private readonly title: string;
  private server: Server | undefined;

  constructor(options: DashboardOptions) {
    const source = (options as Partial<DashboardOptions> | null)?.source;
    const problems = typeof source === 'object' && source !== null && typeof source.listJobs === 'function' ? [] : [`source must be a Scheduler or a SchedulerClient, got ${show(source)}`];
    const settings = checkDashboardSettings(options, problems);
    if (problems.length > 0) throw new ConfigError(problems, 'Dashboard');
    this.source = source!;
    this.port = settings.port;
    this.host = settings.host;
    this.token = settings.token === undefined ? undefined : Buffer.from(settings.token);
    this.title = settings.title;
  }

  /** Listens; resolves with the address once it does. Rejects (E_CONFIG) when the port is taken. */
  async start(): Promise<{ url: string }> {
    if (this.server !== undefined) return { url: this.url };
    const server = createServer((request, response) => void this.handle(request, response));
    await new Promise<void>((resolve, reject) => {
      server.once('error', (error) => reject(new SchedkitError('E_CONFIG', `dashboard: cannot listen on ${this.host}:${this.port}: ${error.message}`, { cause: error })));
      server.listen(this.port, this.host, () => resolve());
    });
    this.server = server;
    return { url: this.url };
  }

  /** Stops listening and closes its connections. Idempotent. */
  async stop(): Promise<void> {
    const server = this.server;
    this.server = undefined;
    if (server === undefined) return;
    server.closeAllConnections();
    await new Promise<void>((resolve) => server.close(() => resolve()));
  }

  /** `http://host:port/` while started. */
  get url(): string {
    const address = this.server?.address();
    if (typeof address !== 'object' || address === null) throw new SchedkitError('E_NOT_STARTED', 'the dashboard is not started');
    const host = address.family === 'IPv6' ? `[${address.address}]` : address.address;
    return `http://${host}:${address.port}/`;
  }

  /** Answers one request; usable as the handler of a server of your own. Never rejects. */
  async handle(request: IncomingMessage, response: ServerResponse): Promise<void> {
    const nonce = randomBytes(16).toString('base64');
    const frame: PageFrame = { title: this.title, nonce, writable: this.token !== undefined };
    try {
      const url = new URL(request.url ?? '/', 'http://dashboard.invalid');
      const action = url.pathname.startsWith('/api/') ? url.pathname.slice('/api/'.length) : '';
      if (request.method === 'POST' && ACTIONS.has(action)) {
        await this.change(action, request, response);
        return;
      }
      if (request.method !== 'GET' && request.method !== 'HEAD') {
        sendJson(response, 405, { error: { code: 'E_METHOD', message: 'only GET, and POST to /api/<action>' } });
        return;
      }
      if (url.pathname === '/') {
        const [jobs, pending] = await Promise.all([this.source.listJobs(), this.source.listRuns({ state: 'pending', limit: 100 })]);
        sendPage(response, 200, nonce, jobsPage(frame, jobs, pending.runs));
        return;
      }
      if (url.pathname === '/job') {
        const name = url.searchParams.get('name') ?? '';
        const tenant = url.searchParams.get('tenant') ?? undefined;
        const options = tenant === undefined ? {} : { tenantId: tenant };
        const job = await this.source.getJob(name, options);
        if (job === null) {
          sendPage(response, 404, nonce, errorPage(frame, 404, `No job "${name}" is stored.`));
          return;
        }
        const [history, pending] = await Promise.all([this.source.history(name, { ...options, limit: 50 }), this.source.listRuns({ ...options, name, limit: 100 })]);
        sendPage(response, 200, nonce, jobPage(frame, job, history, pending.runs.filter((r) => r.state !== 'running')));
        return;
      }
      sendPage(response, 404, nonce, errorPage(frame, 404, 'No such page.'));
    } catch (error) {
      const { status, code, message } = failure(error);
      if (request.url?.startsWith('/api/') === true) sendJson(response, status, { error: { code, message } });
      else sendPage(response, status, nonce, errorPage(frame, status, `${code}: ${message}`));
    }
  }

  /** A change: token checked first, then the JSON body, then the call. */
  private async change(action: string, request: IncomingMessage, response: ServerResponse): Promise<void> {
    if (this.token === undefined) {
      sendJson(response, 403, { error: { code: 'E_READ_ONLY', message: 'this dashboard is read-only: start it with a token to make changes' } });
      return;
    }
    if (!this.authorized(request.headers.authorization)) {
      sendJson(response, 401, { error: { code: 'E_UNAUTHORIZED', message: 'a change needs the header Authorization: Bearer <token>' } });
      return;
    }
    if (!/^application\/json\b/.test(request.headers['content-type'] ?? '')) {
      sendJson(response, 415, { error: { code: 'E_INVALID_ARGUMENT', message: 'send the fields as application/json' } });
      return;
    }
    const body = await readJson(request);
    const name = text(body.name);
    const tenant = text(body.tenant);
    const options = tenant === undefined ? {} : { tenantId: tenant };
    if (action === 'cancel') {
      const job = text(body.job);
      const run = await this.source.cancel(text(body.id) ?? '', { ...options, ...(job === undefined ? {} : { name: job }) });
      sendJson(response, 200, { ok: true, run: { id: run.id, state: run.state, outcome: run.outcome } });
      return;
    }
    if (action === 'trigger') {
      const run = await this.source.trigger(name ?? '', { ...options, ...(body.params === undefined ? {} : { params: body.params as JsonValue }) });
      sendJson(response, 200, { ok: true, run: { id: run.id, dueAt: run.dueAt.toISOString(), created: run.created } });
      return;
    }
    await (action === 'pause' ? this.source.pause(name ?? '', options) : this.source.resume(name ?? '', options));
    sendJson(response, 200, { ok: true });
  }

  private authorized(header: string | undefined): boolean {
    const given = /^Bearer (.+)$/.exec(header ?? '')?.[1];
    if (given === undefined || this.token === undefined) return false;
    const candidate = Buffer.from(given);
    // Same length first: timingSafeEqual throws otherwise (the length of the token is not the secret).
    return candidate.length === this.token.length && timingSafeEqual(candidate, this.token);
  }
}

/**
 * The options besides the source, defaults filled in; each problem is added
 * to `problems`. Shared with `dashboardModule`, which checks them before it
 * has a scheduler.
 */
export function checkDashboardSettings(
  options: Omit<DashboardOptions, 'source'>,
  problems: string[],
): { port: number; host: string; token: string | undefined; title: string } {
  if (typeof options !== 'object' || options === null) {
    problems.push(`expected an object, got ${show(options)}`);
    return { port: 0, host: '', token: undefined, title: '' };
  }
  const { port = 8790, host = '127.0.0.1', token, title = 'schedkit' } = options;
  for (const key of Object.keys(options)) if (!KNOWN_OPTIONS.has(key)) problems.push(`unknown option ${JSON.stringify(key)} (expected ${[...KNOWN_OPTIONS].join(', ')})`);
  if (!Number.isInteger(port) || port < 0 || port > 65_535) problems.push(`port must be an integer from 0 to 65535, got ${show(port)}`);
  if (typeof host !== 'string' || host === '') problems.push(`host must be a non-empty string, got ${show(host)}`);
  if (token !== undefined && (typeof token !== 'string' || token.length < 16)) problems.push('token must be a string of at least 16 characters');
  if (typeof title !== 'string') problems.push(`title must be a string, got ${show(title)}`);
  return { port, host, token, title };
}

const KNOWN_OPTIONS = new Set(['source', 'port', 'host', 'token', 'title']);

function text(value: unknown): string | undefined {
  return typeof value === 'string' ? value : undefined;
}

async function readJson(request: IncomingMessage): Promise<Record<string, unknown>> {
  const chunks: Buffer[] = [];
  let size = 0;
  for await (const chunk of request as AsyncIterable<Buffer>) {
    size += chunk.length;
    if (size > MAX_BODY_BYTES) throw new SchedkitError('E_INVALID_ARGUMENT', `the request body is larger than ${MAX_BODY_BYTES} bytes`);
    chunks.push(chunk);
  }
  let body: unknown;
  try {
    body = JSON.parse(Buffer.concat(chunks).toString('utf8'));
  } catch {
    throw new SchedkitError('E_INVALID_ARGUMENT', 'the request body is not JSON');
  }
  if (typeof body !== 'object' || body === null || Array.isArray(body)) throw new SchedkitError('E_INVALID_ARGUMENT', 'the request body must be a JSON object');
  return body as Record<string, unknown>;
}

/** The status and text of an error: the caller's mistakes are 4xx, an unreachable store 503, the rest 500. */
function failure(error: unknown): { status: number; code: string; message: string } {
  if (!SchedkitError.is(error)) return { status: 500, code: 'E_INTERNAL', message: error instanceof Error ? error.message : String(error) };
  const status =
    error.code === 'E_JOB_NOT_FOUND' || error.code === 'E_RUN_NOT_FOUND'
      ? 404
      : error.code === 'E_BACKEND_UNAVAILABLE'
        ? 503
        : error.code === 'E_RUN_FINISHED' || error.code === 'E_RUN_RUNNING'
          ? 409
          : error.code.startsWith('E_INVALID') || error.code === 'E_CONFIG'
            ? 400
            : 500;
  return { status, code: error.code, message: error.message };
}

const SECURITY_HEADERS = {
  'x-content-type-options': 'nosniff',
  'referrer-policy': 'no-referrer',
  'cache-control': 'no-store',
};

function sendPage(response: ServerResponse, status: number, nonce: string, body: Html): void {
  response.writeHead(status, {
    ...SECURITY_HEADERS,
    'content-type': 'text/html; charset=utf-8',
    // Only our own nonce'd script and style run; nothing may frame the page.
    'content-security-policy': `default-src 'none'; script-src 'nonce-${nonce}'; style-src 'nonce-${nonce}'; connect-src 'self'; form-action 'none'; frame-ancestors 'none'; base-uri 'none'`,
  });
  response.end(body.text);
}

function sendJson(response: ServerResponse, status: number, body: unknown): void {
  response.writeHead(status, { ...SECURITY_HEADERS, 'content-type': 'application/json; charset=utf-8' });
  response.end(JSON.stringify(body));
}
