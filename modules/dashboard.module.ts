import { ContainerModule } from 'inversify';
import { ConfigError } from '../src/errors/schedkit-error.js';
import { checkDashboardSettings, Dashboard, type DashboardOptions } from '../src/dashboard/dashboard.js';
import type { HookRegistry } from '../src/lifecycle/hook.js';
import type { Scheduler } from '../src/scheduler/scheduler.js';
import { TOKENS } from './tokens.js';

/** Options of `dashboardModule`: the `Dashboard`'s, but its source (the app's scheduler). */
export type DashboardModuleOptions = Omit<DashboardOptions, 'source'>;

/**
 * Serves the dashboard from the app, on the app's scheduler: a lifecycle
 * hook `dashboard` listens on start (127.0.0.1:8790 unless told otherwise)
 * and closes on stop. Without `token` it is read-only.
 *
 * @example
 * container.load(schedulerModule(), dashboardModule({ port: 8790, token: process.env.DASHBOARD_TOKEN }));
 */
export function dashboardModule(options: DashboardModuleOptions = {}): ContainerModule {
  const problems: string[] = [];
  if (typeof options === 'object' && options !== null && 'source' in options) problems.push("source is the app's scheduler: leave it out");
  // Checked now, so a bad port fails when the module is made rather than at start.
  checkDashboardSettings(options, problems);
  if (problems.length > 0) throw new ConfigError(problems, 'dashboardModule');
  return new ContainerModule(({ onActivation }) => {
    onActivation<Scheduler>(TOKENS.Scheduler, (context, scheduler) => {
      const dashboard = new Dashboard({ ...options, source: scheduler });
      context.get<HookRegistry>(TOKENS.Lifecycle).append({ name: 'dashboard', onStart: () => dashboard.start().then(() => undefined), onStop: () => dashboard.stop() });
      return scheduler;
    });
  });
}
