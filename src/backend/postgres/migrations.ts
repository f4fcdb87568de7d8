import { migrationScript, type MigrationTrack } from '../../postgres/migrations.js';
import { cancelRunSql } from './sql/cancel-run.js';
import { claimDueRunsSql } from './sql/claim-due-runs.js';
import { claimSlotsSql } from './sql/claim-slots.js';
import { commonSql, rawSchema, RUN_CANCELLED_CHANNEL } from './sql/common.js';
import { enqueueRunSql } from './sql/enqueue-run.js';
import { finishRunsSql } from './sql/finish-runs.js';
import { heartbeatSql } from './sql/heartbeat.js';
import { instancesSql } from './sql/instances.js';
import { reapStalledSql } from './sql/reap-stalled.js';
import { releaseClaimsSql } from './sql/release-claims.js';
import { rescheduleRunSql } from './sql/reschedule-run.js';
import { setPausedSql } from './sql/set-paused.js';
import { sweepSql } from './sql/sweep.js';
import { tablesSql } from './sql/tables.js';
import { upsertJobsSql } from './sql/upsert-jobs.js';

/**
 * The migration track `backend`: the tables of `PostgresBackend` and one
 * plpgsql function per operation (the counterpart of the Redis backend's Lua
 * scripts, one file each in `./sql/`). Released steps are never edited, only
 * added to.
 */
export const BACKEND_MIGRATIONS: MigrationTrack = {
  track: 'backend',
  migrations: [
    {
      version: 1,
      name: 'jobs, runs, history, rate windows, instances, and one function per operation',
      sql: (s) =>
        [
          tablesSql(s),
          commonSql(s),
          upsertJobsSql(s),
          setPausedSql(s),
          instancesSql(s),
          claimSlotsSql(s),
          claimDueRunsSql(s),
          enqueueRunSql(s),
          finishRunsSql(s),
          heartbeatSql(s),
          reapStalledSql(s),
          releaseClaimsSql(s),
          cancelRunSql(s, RUN_CANCELLED_CHANNEL, rawSchema(s)),
          rescheduleRunSql(s),
          sweepSql(s),
        ].join('\n'),
    },
  ],
};

/**
 * The SQL that creates (or brings up to date) the backend's tables in
 * `schema`, for teams that run migrations themselves (`migrate: false`):
 * the same steps `PostgresBackend` applies on connect, each skipped when
 * already recorded, in one transaction.
 *
 * @example
 * import { writeFileSync } from 'node:fs';
 * writeFileSync('schedkit-backend.sql', postgresBackendMigrationScript('jobs'));
 */
export function postgresBackendMigrationScript(schema?: string): string {
  return migrationScript(schema, BACKEND_MIGRATIONS);
}
