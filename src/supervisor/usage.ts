import { randomBytes } from 'node:crypto';
import fs from 'node:fs';
import { STATUS_PROOF_HEADER } from '../engine/child-contract.js';
import type { UsageReport } from '../engine/observability/usage-tally.js';
import { writeFileAtomic } from '../util/atomic-write.js';
import { probeEngine } from './engine.js';

/** The engine route with the queue's usage since the engine started (see engine/observability/usage-tally.ts). */
export const USAGE_PATH = '/kubiya/usage';

/** What `GET /kubiya/usage` answers (the fields `worker status` shows). */
export type EngineUsage = UsageReport;

/** A new per-run token, saved 0600 in the queue directory for `worker status` / `worker stop`. */
export function newUsageToken(file: string): string {
  const token = randomBytes(24).toString('hex');
  writeFileAtomic(file, token, 0o600);
  return token;
}

/** The run's usage token, or undefined when there is none to read (a stopped run, one of an older kubiya). */
export function readUsageToken(file: string): string | undefined {
  try {
    return fs.readFileSync(file, 'utf8').trim() || undefined;
  } catch {
    return undefined;
  }
}

/**
 * GET the engine's usage with the queue's token, once whatever answers at `url` proved it is the run's engine
 * (the token goes to nothing else: a process that took the port after a crash never sees it); undefined when
 * it does not prove it, does not answer within `timeoutMs`, or answers anything but the report.
 */
export async function fetchUsage(url: string, tokenFile: string, timeoutMs = 1500): Promise<EngineUsage | undefined> {
  const token = readUsageToken(tokenFile);
  if (!token) return undefined;
  const probe = await probeEngine(url, timeoutMs, { key: token, header: STATUS_PROOF_HEADER });
  return probe === 'ready' || probe === 'not-ready' ? usageOf(url, token, timeoutMs) : undefined;
}

/** GET the usage from an engine already known to be the run's own. */
export async function usageOf(url: string, token: string, timeoutMs: number): Promise<EngineUsage | undefined> {
  // a ref'd timer: a short-lived CLI must not exit mid-request
  const ac = new AbortController();
  const timer = setTimeout(() => ac.abort(), timeoutMs);
  try {
    const res = await fetch(`${url}${USAGE_PATH}`, {
      headers: { authorization: `Bearer ${token}` },
      signal: ac.signal,
    });
    const body = (await res.json()) as EngineUsage;
    return res.status === 200 && typeof body?.requests === 'number' ? body : undefined;
  } catch {
    return undefined;
  } finally {
    clearTimeout(timer);
  }
}

/** "3 requests (1 failed), 120 in / 45 out tokens, $0.0012" (plus the unpriced count when there is one). */
export function formatUsage(u: EngineUsage): string {
  const unpriced = u.unpriced_requests > 0 ? ` (${u.unpriced_requests} unpriced)` : '';
  return (
    `${u.requests} requests (${u.failures} failed), ${u.input_tokens} in / ${u.output_tokens} out tokens, ` +
    `$${u.cost_usd.toFixed(4)}${unpriced}`
  );
}

/** The one-line summary `worker stop` and a foreground run print at their end (after `kubiya: `). */
export function usageSummary(queueId: string, u: EngineUsage): string {
  return `queue ${queueId} used ${formatUsage(u)}`;
}
