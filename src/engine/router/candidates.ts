import type { Deployment, ModelGroup } from '../deployment.js';
import { GatewayError } from '../errors.js';
import type { StateView } from '../state/router-state.js';
import type { RouteTable } from './table.js';

/** What narrows the deployments a request may go to. */
export interface RequestFilter {
  now: number;
  /** the request's tags, when tag filtering is on */
  tags?: readonly string[];
  /** counted prompt tokens, when pre-call checks are on */
  promptTokens?: number;
  /** deployments that already failed this request (skipped while others are left) */
  tried?: ReadonlySet<Deployment>;
  /** set while every candidate is down by its health checks: they are tried anyway */
  tryDown?: boolean;
}

/** Why deployments were left out, for the error when none is left. */
export interface Exclusions {
  cooling: number;
  limited: number;
  window: number;
  tags: number;
  /** ms until the first cooling or limited deployment can take requests again */
  soonestMs: number;
  largestWindow: number;
}

function tagged(d: Deployment, tags: readonly string[], any: boolean): boolean {
  if (!d.tags) return false;
  return any ? tags.some((t) => d.tags!.includes(t)) : tags.every((t) => d.tags!.includes(t));
}

/**
 * Deployments that match the request's tags: any (or all) of them; else those tagged `default`;
 * untagged requests go anywhere.
 */
function byTags(table: RouteTable, list: Deployment[], tags: readonly string[] | undefined): Deployment[] {
  const any = table.settings.tagMatchAny;
  if (tags && tags.length > 0) {
    const hit = list.filter((d) => tagged(d, tags, any));
    if (hit.length > 0) return hit;
  } else if (!list.some((d) => d.tags?.includes('default'))) return list;
  return list.filter((d) => d.tags?.includes('default'));
}

/**
 * The deployments of `group` that may take this request now (`view`: the group's state, just read):
 * not cooling down, under their rpm/tpm, matching its tags, with a context window that fits. Returns
 * the group's own array (no allocation) when nothing is filtered out, which is the common case.
 */
export function available(
  table: RouteTable,
  group: ModelGroup,
  view: StateView,
  f: RequestFilter,
  why?: Exclusions,
): Deployment[] {
  const all = group.deployments;
  let base = all;
  if (f.tags !== undefined) {
    base = byTags(table, all, f.tags);
    if (why) why.tags += all.length - base.length;
  }
  let out: Deployment[] | undefined;
  let down = 0;
  for (let i = 0; i < base.length; i++) {
    const d = base[i];
    const load = view.of(d);
    let skip = false;
    if (d.down === true && !f.tryDown) {
      // failing its background health checks: out of rotation while another deployment can take the request
      skip = true;
      down++;
    } else if (load.cooldownUntil > f.now) {
      skip = true;
      if (why) {
        why.cooling++;
        why.soonestMs = Math.min(why.soonestMs, load.cooldownUntil - f.now);
      }
    } else if (group.limited && (load.requests >= (d.rpm ?? Infinity) || load.tokens >= (d.tpm ?? Infinity))) {
      skip = true;
      if (why) {
        why.limited++;
        why.soonestMs = Math.min(why.soonestMs, view.msToReset());
      }
    } else if (f.promptTokens !== undefined && d.maxInputTokens !== undefined && f.promptTokens > d.maxInputTokens) {
      skip = true;
      if (why) {
        why.window++;
        why.largestWindow = Math.max(why.largestWindow, d.maxInputTokens);
      }
    } else if (f.tried?.has(d)) skip = true;
    if (skip) out ??= base.slice(0, i);
    else if (out) out.push(d);
  }
  if (down > 0 && out?.length === 0) {
    // every deployment left is down by its health checks: try them rather than fail without trying
    f.tryDown = true;
    if (why) Object.assign(why, noExclusions()); // counted again below, down ones included
    const again = available(table, group, view, f, why);
    f.tryDown = undefined;
    return again;
  }
  return out ?? base;
}

/** A fresh exclusion record. */
export function noExclusions(): Exclusions {
  return { cooling: 0, limited: 0, window: 0, tags: 0, soonestMs: Infinity, largestWindow: 0 };
}

/**
 * The error when no deployment of a group can take the request: 429 with Retry-After when some will
 * come back (cooldown, rpm/tpm), 400 context window when the prompt fits none, 400 when no tag matches.
 */
export function noDeployment(group: ModelGroup, why: Exclusions, promptTokens?: number): GatewayError {
  if (why.cooling + why.limited > 0) {
    const s = Math.max(1, Math.ceil(why.soonestMs / 1000));
    const what = [
      why.cooling && `${why.cooling} cooling down after failures`,
      why.limited && `${why.limited} at their rpm/tpm limit`,
    ]
      .filter(Boolean)
      .join(', ');
    return new GatewayError(429, {
      message: `No deployment of model group "${group.name}" can take the request now (${what}). Try again in ${s}s.`,
      code: 'no_deployments_available',
      errorClass: 'rate_limit',
      retryAfter: String(s),
    });
  }
  if (why.window > 0) {
    return new GatewayError(400, {
      message:
        `The prompt has ${promptTokens} tokens, more than the context window of every deployment ` +
        `of model group "${group.name}" (largest: ${why.largestWindow}).`,
      code: 'context_length_exceeded',
      errorClass: 'context_window',
      param: 'messages',
    });
  }
  return new GatewayError(400, {
    message: `No deployment of model group "${group.name}" matches the request's tags.`,
    code: 'no_deployment_for_tags',
    errorClass: 'bad_request',
    param: 'tags',
  });
}
