import { Option, type Command } from 'commander';
import chalk from 'chalk';
import { UserError } from '../../../errors.js';
import { formatTable, parseOutputMode, printJson } from '../../output.js';

/** `kubiya worker stop|status|logs|list`, plus the hidden `__supervise` the daemon runs as. */
export function registerManage(worker: Command): void {
  worker
    .command('stop')
    .description('Stop a queue\'s worker and its proxy (worker first, then the proxy drains)')
    .requiredOption('--queue-id <id>', 'the queue to stop')
    .option('--force', 'kill the supervisor, worker and proxy at once (SIGKILL)', false)
    .option('--timeout <seconds>', 'how long to wait for an orderly stop before killing what is left', '30')
    .addHelpText('after', '\nExamples:\n  kubiya worker stop --queue-id prod\n  kubiya worker stop --queue-id prod --timeout 60\n  kubiya worker stop --queue-id prod --force')
    .action(async (o: { queueId: string; force: boolean; timeout: string }) => {
      const { validateQueueId } = await import('../../../supervisor/queue-dir.js');
      const { stopQueue } = await import('../../../supervisor/stop.js');
      const id = validateQueueId(o.queueId);
      const timeout = Number(o.timeout);
      if (!Number.isFinite(timeout) || timeout < 0) throw new UserError(`--timeout must be a number of seconds, not "${o.timeout}"`);
      const r = await stopQueue(id, { force: o.force, timeoutMs: timeout * 1000 });
      if (r.outcome === 'not-running') process.stdout.write(`queue ${id} is not running\n`);
      else if (r.outcome === 'stale-cleaned') process.stdout.write(`queue ${id} was not running (${r.supervisorPid ? `supervisor pid ${r.supervisorPid} is gone` : 'no live supervisor'}); cleaned up: ${r.notes.join(', ') || 'nothing'}\n`);
      else {
        process.stdout.write(`${chalk.green('✓')} stopped queue ${id} (supervisor pid ${r.supervisorPid})\n`);
        if (r.killed.length > 0) process.stdout.write(`  killed ${r.killed.length} process(es) that did not stop in time: ${r.killed.join(', ')}\n`);
      }
    });

  worker
    .command('status')
    .description('Show whether queues are running: pids, uptime, proxy URL and health, restarts, log sizes')
    .option('--queue-id <id>', 'one queue (default: every queue)')
    .addOption(new Option('-o, --output <format>', 'text or json').default('text'))
    .addHelpText('after', '\nExamples:\n  kubiya worker status --queue-id prod\n  kubiya worker status --output json')
    .action(async (o: { queueId?: string; output: string }) => {
      const { validateQueueId, listQueueIds } = await import('../../../supervisor/queue-dir.js');
      const { queueStatus } = await import('../../../supervisor/status.js');
      const { printStatus } = await import('./manage-format.js');
      const mode = parseOutputModeOrThrow(o.output);
      const ids = o.queueId ? [validateQueueId(o.queueId)] : listQueueIds();
      const all = await Promise.all(ids.map(queueStatus));
      if (mode === 'json') printJson(o.queueId ? all[0] : all);
      else if (all.length === 0) process.stdout.write('no queues yet; start one with `kubiya worker start --queue-id ID`\n');
      else process.stdout.write(`${all.map(printStatus).join('\n\n')}\n`);
    });

  worker
    .command('logs')
    .description("Print or follow a queue's worker log (or its proxy log)")
    .requiredOption('--queue-id <id>', 'the queue')
    .option('-f, --follow', 'keep printing new lines (Ctrl-C to stop)', false)
    .option('--proxy', 'the proxy log (litellm_proxy.log) instead of the worker log', false)
    .option('-n, --lines <n>', 'how many lines from the end', '100')
    .addHelpText('after', '\nExamples:\n  kubiya worker logs --queue-id prod -n 20\n  kubiya worker logs --queue-id prod -f\n  kubiya worker logs --queue-id prod --proxy -f')
    .action(async (o: { queueId: string; follow: boolean; proxy: boolean; lines: string }) => {
      const fs = await import('node:fs');
      const { queuePaths } = await import('../../../supervisor/queue-dir.js');
      const { showLog } = await import('../../../supervisor/logs.js');
      const p = queuePaths(o.queueId);
      const lines = Number(o.lines);
      if (!Number.isInteger(lines) || lines < 0) throw new UserError(`-n must be a whole number of lines, not "${o.lines}"`);
      const file = o.proxy ? p.proxyLog : p.workerLog;
      if (!fs.existsSync(p.dir)) throw new UserError(`queue "${o.queueId}" has never run here (no ${p.dir})`, { hint: 'See the queues with: kubiya worker list' });
      if (!fs.existsSync(file) && !o.follow) throw new UserError(`no log yet: ${file}`, { exitCode: 1 });
      const ac = new AbortController();
      const stop = () => ac.abort();
      process.once('SIGINT', stop);
      process.once('SIGTERM', stop);
      process.stdout.once('error', stop); // the reader went away (`| head`): stop following
      try {
        await showLog(file, { lines, follow: o.follow, signal: ac.signal });
      } finally {
        process.off('SIGINT', stop);
        process.off('SIGTERM', stop);
        process.stdout.off('error', stop);
      }
    });

  worker
    .command('list')
    .description('List every queue directory in ~/.kubiya/workers and its state')
    .addOption(new Option('-o, --output <format>', 'text or json').default('text'))
    .addHelpText('after', '\nExamples:\n  kubiya worker list\n  kubiya worker list -o json')
    .action(async (o: { output: string }) => {
      const { listQueueIds } = await import('../../../supervisor/queue-dir.js');
      const { queueStatus, formatUptime } = await import('../../../supervisor/status.js');
      const mode = parseOutputModeOrThrow(o.output);
      const all = await Promise.all(listQueueIds().map(queueStatus));
      if (mode === 'json') return printJson(all);
      if (all.length === 0) return void process.stdout.write('no queues yet; start one with `kubiya worker start --queue-id ID`\n');
      const rows = all.map((s) => [s.queue_id, s.state, s.mode ?? '-', s.supervisor_pid && s.state !== 'stopped' ? String(s.supervisor_pid) : '-', s.state === 'running' ? (s.engine?.url ?? s.gateway_url ?? '-') : '-', formatUptime(s.uptime_seconds)]);
      process.stdout.write(`${formatTable(['queue', 'state', 'mode', 'pid', 'proxy', 'uptime'].map((h) => h.toUpperCase()), rows)}\n`);
    });

  worker
    .command('__supervise', { hidden: true })
    .description('internal: the detached supervisor started by `worker start --daemon`')
    .requiredOption('--queue-id <id>')
    .action(async (o: { queueId: string }) => {
      const { runDaemon } = await import('../../../supervisor/daemon.js');
      process.exitCode = await runDaemon(o.queueId);
    });
}

function parseOutputModeOrThrow(v: string) {
  try {
    return parseOutputMode(v);
  } catch (e) {
    throw new UserError((e as Error).message);
  }
}
