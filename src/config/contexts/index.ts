/** The kubectl-style `~/.kubiya/config` store: contexts, users, current context. */
export { KubiyaConfigFile, kubiyaConfigPath, loadKubiyaConfig, currentContext } from './store.js';
export { setContext, setProxy, useContext, deleteContext, renameContext, checkContextName, checkUrl } from './edit.js';
export type { ContextPatch, ProxyPatch } from './edit.js';
export type { KubiyaContext, ContextProxy } from './schema.js';
