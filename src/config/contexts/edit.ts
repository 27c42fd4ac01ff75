import { isMap, type YAMLMap } from 'yaml';
import { UserError } from '../../errors.js';
import type { KubiyaConfigFile } from './store.js';

/** What `set-context` may change; undefined leaves a field as it is. */
export interface ContextPatch {
  apiUrl?: string;
  organization?: string;
  user?: string;
  token?: string;
  workerCommand?: string;
  llmGatewayUrl?: string;
}

/** What `set-proxy` may change. */
export interface ProxyPatch {
  enabled: boolean;
  configFile?: string;
  configJson?: string;
  model?: string;
}

/** A context name must be usable on a command line and in a file: no spaces, slashes or control characters. */
export function checkContextName(name: string): void {
  if (!/^[A-Za-z0-9][A-Za-z0-9._@:-]*$/.test(name)) {
    throw new UserError(
      `invalid context name "${name}": use letters, digits and . _ @ : - (starting with a letter or digit)`,
    );
  }
}

/** Create a context or merge into an existing one; never drops keys it does not set (litellm-proxy included). */
export function setContext(cfg: KubiyaConfigFile, name: string, patch: ContextPatch): 'created' | 'modified' {
  checkContextName(name);
  let entry = cfg.entryNode(name);
  const created = !entry;
  if (!entry) {
    entry = cfg.doc.createNode({ name, context: {} }) as YAMLMap;
    cfg.contextSeq().add(entry);
  }
  const ctx = childMap(cfg, entry, 'context');
  if (patch.apiUrl !== undefined) ctx.set('api-url', checkUrl(patch.apiUrl, '--api-url'));
  if (patch.organization !== undefined) ctx.set('organization', patch.organization);
  if (patch.workerCommand !== undefined) ctx.set('worker-command', patch.workerCommand);
  if (patch.llmGatewayUrl !== undefined) ctx.set('llm-gateway-url', checkUrl(patch.llmGatewayUrl, '--llm-gateway-url'));
  let user = patch.user ?? (ctx.get('user') as string | undefined);
  if (patch.user !== undefined) ctx.set('user', patch.user);
  if (patch.token !== undefined) {
    if (patch.token.trim() === '') throw new UserError('--token must not be empty');
    if (!user) {
      user = name; // a token needs a user entry; name it after the context, kubectl style
      ctx.set('user', user);
    }
    setUserToken(cfg, user, patch.token);
  }
  // a fresh file has no current context yet: the first context becomes current
  if (created && !cfg.currentName) cfg.doc.set('current-context', name);
  return created ? 'created' : 'modified';
}

/** The mapping under `key`, created (or replacing a null/scalar) when it is not a mapping. */
function childMap(cfg: KubiyaConfigFile, parent: YAMLMap, key: string): YAMLMap {
  const cur: unknown = parent.get(key, true);
  if (isMap(cur)) return cur;
  const created = cfg.doc.createNode({}) as YAMLMap;
  parent.set(key, created);
  return created;
}

function setUserToken(cfg: KubiyaConfigFile, user: string, token: string): void {
  const seq = cfg.userSeq();
  let entry = seq.items.find((it): it is YAMLMap => isMap(it) && it.get('name') === user);
  if (!entry) {
    entry = cfg.doc.createNode({ name: user, user: {} }) as YAMLMap;
    seq.add(entry);
  }
  childMap(cfg, entry, 'user').set('token', token);
}

/** Enable or disable the local proxy of a context and set its config source and model. */
export function setProxy(cfg: KubiyaConfigFile, name: string, patch: ProxyPatch): void {
  cfg.require(name);
  const entry = cfg.entryNode(name)!;
  const proxy = childMap(cfg, childMap(cfg, entry, 'context'), 'litellm-proxy');
  proxy.set('enabled', patch.enabled);
  // one config source per context: setting one replaces the other
  if (patch.configFile !== undefined) {
    proxy.set('config-file', patch.configFile);
    proxy.delete('config-json');
  }
  if (patch.configJson !== undefined) {
    proxy.set('config-json', patch.configJson);
    proxy.delete('config-file');
  }
  if (patch.model !== undefined) proxy.set('model', patch.model);
}

/** Make a context current (an unknown name is an error listing the names). */
export function useContext(cfg: KubiyaConfigFile, name: string): void {
  cfg.require(name);
  cfg.doc.set('current-context', name);
}

/** Delete a context; returns true when it was the current one (current-context is then cleared). */
export function deleteContext(cfg: KubiyaConfigFile, name: string): boolean {
  cfg.require(name);
  const seq = cfg.contextSeq();
  seq.items = seq.items.filter((it) => !(isMap(it) && it.get('name') === name));
  const wasCurrent = cfg.currentName === name;
  if (wasCurrent) cfg.doc.set('current-context', '');
  return wasCurrent;
}

/** Rename a context, following it with current-context. */
export function renameContext(cfg: KubiyaConfigFile, from: string, to: string): void {
  cfg.require(from);
  checkContextName(to);
  if (from === to) return;
  if (cfg.get(to)) throw new UserError(`cannot rename "${from}" to "${to}": a context named "${to}" already exists`);
  cfg.entryNode(from)!.set('name', to);
  if (cfg.currentName === from) cfg.doc.set('current-context', to);
}

/** A URL flag must be http(s) with a host. */
export function checkUrl(value: string, flag: string): string {
  let u: URL;
  try {
    u = new URL(value);
  } catch {
    throw new UserError(`${flag}: expected an http(s) URL such as https://control-plane.kubiya.ai, found "${value}"`);
  }
  if (u.protocol !== 'http:' && u.protocol !== 'https:') {
    throw new UserError(`${flag}: expected an http(s) URL, found the scheme "${u.protocol}" in "${value}"`);
  }
  return value.replace(/\/+$/, '');
}
