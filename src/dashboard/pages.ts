import { describeSchedule } from '../schedule/describe-schedule.js';
import type { JobInfo, RunHistoryEntry, RunInfo } from '../scheduler/types.js';
import { html, trusted, type Html } from './html.js';

/**
 * The dashboard's two pages as server-rendered HTML: every stored string
 * goes through `html`'s escaping. The page's only script (`PAGE_SCRIPT`)
 * sends the buttons' changes with the token in a header and reloads; it and
 * the style carry the response's CSP nonce.
 */

/** Everything a page needs besides its content. */
export interface PageFrame {
  title: string;
  nonce: string;
  /** Whether changes are possible at all (a token is configured). */
  writable: boolean;
}

const iso = (date: Date | null): string => (date === null ? '–' : date.toISOString().replace('.000Z', 'Z'));
const jobHref = (name: string, tenantId: string | undefined): string =>
  `job?name=${encodeURIComponent(name)}${tenantId === undefined ? '' : `&tenant=${encodeURIComponent(tenantId)}`}`;

function page(frame: PageFrame, heading: Html | string, body: Html): Html {
  const controls = frame.writable
    ? html`<form id="token-form" class="token"><label>Token <input id="token" type="password" autocomplete="off" placeholder="needed to change anything"></label></form>`
    : html`<p class="token">Read-only: start the dashboard with a token to trigger, pause, resume or cancel.</p>`;
  return html`<!doctype html>
<html lang="en">
<head>
<meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1">
<title>${frame.title}</title>
<style nonce="${frame.nonce}">${trusted(STYLE)}</style>
</head>
<body>
<header><a href="./">${frame.title}</a>${controls}</header>
<main>
<h1>${heading}</h1>
${body}
</main>
<p id="status" role="status"></p>
<script nonce="${frame.nonce}">${trusted(PAGE_SCRIPT)}</script>
</body>
</html>
`;
}

/** A button that posts `action` with the given fields (as data attributes). */
function button(frame: PageFrame, label: string, action: string, fields: Record<string, string | undefined>): Html {
  if (!frame.writable) return html``;
  const data = Object.entries(fields)
    .filter(([, v]) => v !== undefined)
    .map(([k, v]) => html` data-${k}="${v}"`);
  return html`<button type="button" data-action="${action}"${data}>${label}</button>`;
}

export function jobsPage(frame: PageFrame, jobs: JobInfo[], pending: RunInfo[]): Html {
  const rows = jobs.map(
    (j) => html`<tr data-job="${j.name}">
<td><a href="${jobHref(j.name, j.tenantId)}">${j.name}</a></td><td>${j.tenantId ?? '–'}</td>
<td class="status ${j.status}">${j.status}</td><td>${describeSchedule(j.schedule)}</td>
<td>${iso(j.nextRunAt)}</td><td>${iso(j.lastRunAt)}</td><td class="num">${j.runCount}</td><td class="num">${j.failCount}</td>
<td class="error">${j.lastError ?? ''}</td>
<td class="actions">${button(frame, 'Run now', 'trigger', { name: j.name, tenant: j.tenantId })}${
      j.status === 'paused' ? button(frame, 'Resume', 'resume', { name: j.name, tenant: j.tenantId }) : button(frame, 'Pause', 'pause', { name: j.name, tenant: j.tenantId })
    }</td></tr>`,
  );
  return page(
    frame,
    'Jobs',
    html`<table id="jobs"><thead><tr><th>Job</th><th>Tenant</th><th>Status</th><th>Schedule</th><th>Next run</th><th>Last run</th><th>Runs</th><th>Failed</th><th>Last error</th><th></th></tr></thead>
<tbody>${rows.length === 0 ? html`<tr><td colspan="10">No job is stored yet: a worker stores its jobs when it registers them.</td></tr>` : rows}</tbody></table>
<h2>Pending runs</h2>
${runsTable(frame, pending)}`,
  );
}

export function jobPage(frame: PageFrame, job: JobInfo, history: RunHistoryEntry[], pending: RunInfo[]): Html {
  const rows = history.map(
    (h) => html`<tr><td>${iso(h.scheduledAt)}</td><td class="outcome ${h.outcome}">${h.outcome}</td><td class="num">${h.attempt}</td>
<td class="num">${h.startedAt !== null && h.finishedAt !== null ? `${h.finishedAt.getTime() - h.startedAt.getTime()} ms` : '–'}</td>
<td>${h.instanceId}</td><td>${h.id}</td><td class="error">${h.error ?? h.reason ?? ''}</td></tr>`,
  );
  const tenant = job.tenantId;
  return page(
    frame,
    html`${job.name}${tenant === undefined ? '' : html` <small>tenant ${tenant}</small>`}`,
    html`<dl>
<dt>Status</dt><dd class="status ${job.status}">${job.status}</dd>
<dt>Schedule</dt><dd>${describeSchedule(job.schedule)}</dd>
<dt>Next run</dt><dd>${iso(job.nextRunAt)}</dd>
<dt>Last run</dt><dd>${iso(job.lastRunAt)}${job.lastDurationMs === null ? '' : ` (${job.lastDurationMs} ms)`}</dd>
<dt>Runs / failed / skipped</dt><dd>${job.runCount} / ${job.failCount} / ${job.skippedCount}</dd>
<dt>Last error</dt><dd class="error">${job.lastError ?? '–'}</dd>
</dl>
<p class="actions">${button(frame, 'Run now', 'trigger', { name: job.name, tenant })}${
      job.status === 'paused' ? button(frame, 'Resume', 'resume', { name: job.name, tenant }) : button(frame, 'Pause', 'pause', { name: job.name, tenant })
    }</p>
<h2>Pending runs</h2>
${runsTable(frame, pending)}
<h2>History</h2>
<table id="history"><thead><tr><th>Scheduled</th><th>Outcome</th><th>Attempt</th><th>Took</th><th>Instance</th><th>Run</th><th>Error or reason</th></tr></thead>
<tbody>${rows.length === 0 ? html`<tr><td colspan="7">No run yet.</td></tr>` : rows}</tbody></table>`,
  );
}

function runsTable(frame: PageFrame, runs: RunInfo[]): Html {
  const rows = runs.map(
    (r) => html`<tr data-run="${r.id}"><td>${r.id}</td><td><a href="${jobHref(r.name, r.tenantId)}">${r.name}</a></td><td>${r.tenantId ?? '–'}</td><td>${r.state}</td>
<td>${iso(r.dueAt)}</td><td class="num">${r.attempt}</td><td class="params">${r.params === undefined ? '' : JSON.stringify(r.params)}</td>
<td class="actions">${button(frame, 'Cancel', 'cancel', { id: r.id, job: r.kind === 'slot' ? r.name : undefined, tenant: r.tenantId })}</td></tr>`,
  );
  return html`<table class="runs"><thead><tr><th>Run</th><th>Job</th><th>Tenant</th><th>State</th><th>Due</th><th>Attempt</th><th>Params</th><th></th></tr></thead>
<tbody>${rows.length === 0 ? html`<tr><td colspan="8">None.</td></tr>` : rows}</tbody></table>`;
}

export function errorPage(frame: PageFrame, status: number, message: string): Html {
  return page(frame, `${status}`, html`<p>${message}</p>`);
}

const STYLE = `
body{font:14px/1.4 system-ui,sans-serif;margin:0;color:#1d1d1f;background:#fafafa}
header{display:flex;justify-content:space-between;align-items:center;padding:.6rem 1.2rem;background:#20232a;color:#fff}
header a{color:#fff;font-weight:600;text-decoration:none}.token{margin:0;font-size:13px}
main{padding:0 1.2rem 2rem}h1 small{font-weight:400;color:#666}
table{border-collapse:collapse;width:100%;background:#fff;margin-bottom:1rem}
th,td{border-bottom:1px solid #e3e3e3;padding:.35rem .5rem;text-align:left;vertical-align:top}
th{background:#f0f0f0;font-weight:600}.num{text-align:right}
.error,.params{font-family:ui-monospace,monospace;font-size:12px;max-width:28rem;overflow-wrap:anywhere}
.status.paused,.outcome.failed,.outcome.timeout,.outcome.lock-lost{color:#b00020}.outcome.success{color:#1b7f3b}
dl{display:grid;grid-template-columns:max-content auto;gap:.2rem 1rem}dt{color:#666}
button{margin-right:.3rem}#status{position:fixed;bottom:0;right:1rem;padding:.3rem .6rem;background:#20232a;color:#fff}
#status:empty{display:none}
`;

/**
 * Keeps the token in sessionStorage (never a cookie: a change needs the
 * header, which another site cannot make a browser send), posts a button's
 * action, says what happened, and reloads.
 */
const PAGE_SCRIPT = `
(() => {
  const field = document.getElementById('token');
  const status = document.getElementById('status');
  if (field) {
    field.value = sessionStorage.getItem('schedkit-token') || '';
    field.addEventListener('input', () => sessionStorage.setItem('schedkit-token', field.value));
    document.getElementById('token-form').addEventListener('submit', (e) => e.preventDefault());
  }
  for (const b of document.querySelectorAll('button[data-action]')) {
    b.addEventListener('click', async () => {
      const { action, ...body } = b.dataset;
      status.textContent = action + '...';
      try {
        const response = await fetch('api/' + action, {
          method: 'POST',
          headers: { 'content-type': 'application/json', authorization: 'Bearer ' + (field ? field.value : '') },
          body: JSON.stringify(body),
        });
        const answer = await response.json();
        if (!response.ok) { status.textContent = answer.error ? answer.error.code + ': ' + answer.error.message : 'failed'; return; }
        status.textContent = 'done';
        setTimeout(() => location.reload(), 300);
      } catch (error) {
        status.textContent = String(error);
      }
    });
  }
})();
`;
