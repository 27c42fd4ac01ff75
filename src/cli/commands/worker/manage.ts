import fs from 'node:fs';
import { validateQueueId } from '../../../config/queue-id.js';
import { UserError } from '../../../errors.js';
import type { Handler } from '../../command.js';
import { formatTable } from '../../output.js';
import { printStatus } from './manage-format.js';

/** The options of `worker stop`. */
export interface StopOpts {
  queueId: string;
  force: boolean;
  timeout?: string;
}

/** The options of `worker logs`. */
export interface LogsOpts {
  queueId: string;
  follow: boolean;
  proxy: boolean;
  lines: string;
}

const NO_QUEUES = 'no queues yet; start one with `kubiya worker start --queue-id ID`';

/** `worker stop`: SIGTERM the supervisor (worker first, then the engine drains); kill what is left after --timeout. */
export const workerStop: Handler<StopOpts> = async (ctx, o) => {
  const id = validateQueueId(o.queueId);
  const timeout = o.timeout === undefined ? undefined : Number(o.timeout);
  if (timeout !== undefined && (!Number.isFinite(timeout) || timeout < 0))
    throw new UserError(`--timeout must be a number of seconds, not "${o.timeout}"`);
  const { stopQueue, usageSummary } = await ctx.supervisor();
  const timeoutMs = timeout === undefined ? undefined : timeout * 1000;
  const r = await stopQueue(id, { force: o.force, timeoutMs }, ctx.env);
  if (r.outcome === 'not-running') ctx.out.line(`queue ${id} is not running`);
  else if (r.outcome === 'stale-cleaned') {
    const why = r.supervisorPid ? `supervisor pid ${r.supervisorPid} is gone` : 'no live supervisor';
    ctx.out.line(`queue ${id} was not running (${why}); cleaned up: ${r.notes.join(', ') || 'nothing'}`);
  } else {
    ctx.out.line(`${ctx.color.green('✓')} stopped queue ${id} (supervisor pid ${r.supervisorPid})`);
    if (r.killed.length > 0)
      ctx.out.line(`  killed ${r.killed.length} process(es) that did not stop in time: ${r.killed.join(', ')}`);
    // --type docker: a container the supervisor had no time to remove, removed here
    if (r.notes.length > 0) ctx.out.line(`  cleaned up: ${r.notes.join(', ')}`);
    if (r.usage) ctx.stderr.write(`${ctx.errColor.dim('kubiya:')} ${usageSummary(id, r.usage)}\n`);
  }
};

/** `worker status [--queue-id ID]`: one queue, or every queue. */
export const workerStatus: Handler<{ queueId?: string }> = async (ctx, o) => {
  const ids = o.queueId !== undefined ? [validateQueueId(o.queueId)] : undefined;
  const { listQueueIds, queuePaths, queueStatus } = await ctx.supervisor();
  if (ids && !fs.existsSync(queuePaths(ids[0], ctx.env).dir))
    throw new UserError(`queue "${ids[0]}" is unknown here (it has never run: no ${queuePaths(ids[0], ctx.env).dir})`, {
      exitCode: 1,
      hint: 'See the queues with: kubiya worker list',
    });
  const all = await Promise.all((ids ?? listQueueIds(ctx.env)).map((id) => queueStatus(id, ctx.env)));
  if (ctx.output === 'json') ctx.out.json(ids ? all[0] : all);
  else if (all.length === 0) ctx.out.line(NO_QUEUES);
  else ctx.out.line(all.map((s) => printStatus(s, ctx.color)).join('\n\n'));
};

/** `worker logs --queue-id ID [-f] [--proxy] [-n N]`. */
export const workerLogs: Handler<LogsOpts> = async (ctx, o) => {
  const id = validateQueueId(o.queueId);
  const lines = Number(o.lines);
  if (!Number.isInteger(lines) || lines < 0)
    throw new UserError(`-n must be a whole number of lines, not "${o.lines}"`);
  const { queuePaths, showLog } = await ctx.supervisor();
  const p = queuePaths(id, ctx.env);
  const file = o.proxy ? p.proxyLog : p.workerLog;
  if (!fs.existsSync(p.dir))
    throw new UserError(`queue "${id}" has never run here (no ${p.dir})`, {
      hint: 'See the queues with: kubiya worker list',
    });
  if (!fs.existsSync(file) && !o.follow) throw new UserError(`no log yet: ${file}`, { exitCode: 1 });
  const ac = new AbortController();
  const stop = () => ac.abort();
  const off = ctx.onSignal(['SIGINT', 'SIGTERM'], stop);
  ctx.stdout.once('error', stop); // the reader went away (`| head`): stop following
  try {
    await showLog(file, { lines, follow: o.follow, signal: ac.signal }, ctx.stdout);
  } finally {
    off();
    ctx.stdout.off('error', stop);
  }
};

/** `worker list`: every queue directory and its state. */
export const workerList: Handler<object> = async (ctx) => {
  const { listQueueIds, queueStatus, formatUptime } = await ctx.supervisor();
  const all = await Promise.all(listQueueIds(ctx.env).map((id) => queueStatus(id, ctx.env)));
  if (ctx.output === 'json') return void ctx.out.json(all);
  if (all.length === 0) return void ctx.out.line(NO_QUEUES);
  const rows = all.map((s) => [
    s.queue_id,
    s.state,
    s.mode ?? '-',
    s.supervisor_pid && s.state !== 'stopped' ? String(s.supervisor_pid) : '-',
    s.state === 'running' ? (s.engine?.url ?? s.gateway_url ?? '-') : '-',
    formatUptime(s.uptime_seconds),
  ]);
  ctx.out.line(formatTable(['QUEUE', 'STATE', 'MODE', 'PID', 'PROXY', 'UPTIME'], rows));
};

/** `worker prune [--dry-run]`: remove stopped queues' directories (never a running or stale one). */
export const workerPrune: Handler<{ dryRun?: boolean }> = async (ctx, o) => {
  const { listQueueIds, queueStatus } = await ctx.supervisor();
  const all = await Promise.all(listQueueIds(ctx.env).map((id) => queueStatus(id, ctx.env)));
  const gone = all.filter((s) => s.state === 'stopped');
  for (const s of all.filter((x) => x.state !== 'stopped'))
    ctx.out.line(`keeping ${s.queue_id} (${s.state}${s.state === 'stale' ? ': kubiya worker stop cleans it' : ''})`);
  for (const s of gone) {
    if (!o.dryRun) fs.rmSync(s.worker_dir, { recursive: true, force: true });
    ctx.out.line(`${o.dryRun ? 'would remove' : 'removed'} ${s.queue_id} (${s.worker_dir})`);
  }
  if (gone.length === 0) ctx.out.line('no stopped queues to remove');
  else if (o.dryRun) ctx.out.line('dry run: nothing was removed; run without --dry-run to remove them');
};

/** `worker __supervise` (hidden): the detached supervisor `worker start --daemon` spawns. */
export const supervise: Handler<{ queueId: string; plan: string }> = async (ctx, o) => {
  const { runDaemon } = await ctx.supervisor();
  return runDaemon(validateQueueId(o.queueId), o.plan, ctx.supervisorIo());
};
