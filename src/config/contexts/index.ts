/** The kubectl-style `~/.kubiya/config` store: contexts, users, current context. */

export type { ContextPatch, ProxyPatch } from './edit.js';
export { checkContextName, checkUrl, deleteContext, renameContext, setContext, setProxy, useContext } from './edit.js';
export type { ContextProxy, KubiyaContext } from './schema.js';
export { currentContext, KubiyaConfigFile, kubiyaConfigPath, loadKubiyaConfig } from './store.js';
