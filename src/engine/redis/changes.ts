/**
 * Governance change notices between engines: what a management call changed on one engine (a key deleted or
 * blocked, a team's models, a budget) is published on a Redis channel and applied by every other engine that
 * shares the store, within the time a PUBLISH takes, instead of when their cache entries expire
 * (general_settings.user_api_key_cache_ttl, which stays the bound while Redis is away).
 *
 * The channel is named after the store (its address and schema), so engines of different stores on one Redis
 * never drop each other's caches. A subscriber that reconnects after an outage may have missed notices: it
 * drops every cache once ({kind: 'all'}).
 */
import { createHash, randomBytes } from 'node:crypto';
import type { Change, Governance } from '../governance/governance.js';
import type { SharedRedis } from './shared.js';

const KINDS = new Set<Change['kind']>(['key', 'user', 'team', 'budget', 'end_user', 'org', 'all']);

/** The channel of a store: `kubiya:governance:changes:<hash of where it lives>`. */
export function changesChannel(g: Governance): string {
  const id = createHash('sha256')
    .update(`${g.store.where}\u0000${g.store.schema ?? ''}`)
    .digest('hex')
    .slice(0, 16);
  return `kubiya:governance:changes:${id}`;
}

/** Publish this engine's changes and apply the others'. Returns a stop function (unsubscribes). */
export function shareChanges(g: Governance, redis: SharedRedis): () => Promise<void> {
  const channel = changesChannel(g);
  const me = randomBytes(8).toString('hex');
  const local = g.changed.bind(g);
  g.changed = (c: Change) => {
    local(c);
    const msg = JSON.stringify({ from: me, kind: c.kind, id: c.id });
    redis.send((r) => r.publish(channel, msg), 'publish');
  };
  const sub = redis.subscriber();
  let readyOnce = false;
  sub.on('ready', () => {
    // notices published while this connection was away are lost: every cache is read again
    if (readyOnce) local({ kind: 'all' });
    readyOnce = true;
  });
  sub.on('message', (ch: string, text: string) => {
    if (ch !== channel) return;
    let m: { from?: unknown; kind?: unknown; id?: unknown };
    try {
      m = JSON.parse(text);
    } catch {
      return;
    }
    if (m.from === me || !KINDS.has(m.kind as Change['kind'])) return;
    local({ kind: m.kind as Change['kind'], id: typeof m.id === 'string' ? m.id : undefined });
  });
  sub.subscribe(channel).catch((e: Error) => g.logger.warn({ error: e.message }, 'redis: change notices not heard'));
  return async () => {
    await sub.unsubscribe(channel).catch(() => {});
  };
}
