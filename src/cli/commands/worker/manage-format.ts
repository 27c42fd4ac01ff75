import type { ChalkInstance } from 'chalk';
import { formatBytes, formatUptime, formatUsage, type QueueStatus } from '../../../supervisor/index.js';

/** The text form of `worker status` for one queue. */
export function printStatus(s: QueueStatus, chalk: ChalkInstance): string {
  const state =
    s.state === 'running' ? chalk.green('running') : s.state === 'stale' ? chalk.yellow('stale') : chalk.dim('stopped');
  const lines: [string, string][] = [['queue', s.queue_id]];
  if (s.state === 'running')
    lines.push([
      'state',
      `${state} (${s.mode}, supervisor pid ${s.supervisor_pid}, up ${formatUptime(s.uptime_seconds)})`,
    ]);
  else if (s.problem)
    lines.push(['state', `${state} (${s.problem}; \`kubiya worker stop --queue-id ${s.queue_id}\` cleans up)`]);
  else if (s.state === 'stale')
    lines.push([
      'state',
      `${state} (supervisor pid ${s.supervisor_pid} is gone; ` +
        `\`kubiya worker stop --queue-id ${s.queue_id}\` cleans up)`,
    ]);
  else lines.push(['state', state]);
  if (s.state === 'running' && s.engine) {
    const e = s.engine;
    const health = e.port_taken
      ? chalk.red('ANOTHER PROCESS ANSWERS ON ITS PORT')
      : e.healthy
        ? chalk.green(e.verified ? 'healthy' : 'healthy (unverified)')
        : chalk.red('not answering');
    lines.push([
      'proxy',
      `${e.url ?? '-'} (engine pid ${e.pid ?? '-'}, ${e.state}, ${health}, ` +
        `restarts ${e.restarts}${e.last_exit ? `, last exit: ${e.last_exit}` : ''})`,
    ]);
    if (e.state === 'crash-loop')
      lines.push([
        '',
        chalk.red('the proxy engine hit its crash-loop limit and is no longer restarted; see the proxy log'),
      ]);
    if (e.note) lines.push(['', chalk.red(e.note)]);
    if (e.port_taken)
      lines.push([
        '',
        chalk.red(
          `${e.url} is answered by a process that cannot prove it is this queue's engine; ` +
            "the worker's calls go to it until the supervisor moves the engine to a new port",
        ),
      ]);
    lines.push(['usage', s.usage ? formatUsage(s.usage) : chalk.dim('- (the proxy engine is down or did not answer)')]);
  } else if (s.state === 'running' && s.gateway_url) lines.push(['gateway', s.gateway_url]);
  if (s.state === 'running' && s.worker) {
    const w = s.worker;
    const where = w.container
      ? `container ${w.container.id.slice(0, 12)} (${w.container.state})`
      : `pid ${w.pid ?? '-'}`;
    lines.push([
      'worker',
      `${where}, ${w.state}, restarts ${w.restarts}${w.last_exit ? `, last exit: ${w.last_exit}` : ''}`,
    ]);
    if (w.container) lines.push(['image', `${w.container.image} (${w.container.name}, ${w.container.docker_host})`]);
    lines.push(['command', w.command.join(' ')]);
    if (s.package_version) lines.push(['package', `kubiya-control-plane-api ${s.package_version}`]);
  }
  if (s.state === 'running' && s.auto_update) lines.push(['updates', autoUpdateLine(s.auto_update, chalk)]);
  lines.push(['worker log', `${s.logs.worker.path} (${formatBytes(s.logs.worker.bytes)})`]);
  lines.push(['proxy log', `${s.logs.proxy.path} (${formatBytes(s.logs.proxy.bytes)})`]);
  return lines.map(([k, v]) => `${k ? `${k}:`.padEnd(12) : ' '.repeat(12)}${v}`).join('\n');
}

/** `auto-update on, every 5m, last check <time>: config 1a2b3c4d5e6f unchanged; package 0.5.0 up to date` */
function autoUpdateLine(a: NonNullable<QueueStatus['auto_update']>, chalk: ChalkInstance): string {
  if (!a.enabled) return chalk.dim('auto-update off (--auto-update turns it on)');
  const every = (a.interval_s ?? 0) >= 60 ? `${(a.interval_s ?? 0) / 60}m` : `${a.interval_s}s`;
  const last = a.last_check
    ? `last check ${a.last_check}: ${a.failed ? chalk.red(a.last_result ?? '') : a.last_result}`
    : 'no check yet';
  const update = a.last_update ? `; last update: ${a.last_update}` : '';
  return `auto-update ${chalk.green('on')}, every ${every}, ${last}${update}`;
}
