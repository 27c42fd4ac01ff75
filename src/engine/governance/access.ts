import type { RouteTable } from '../router/table.js';
import type { AuthRecord } from './types.js';

/** Throws when the key (its team, user, org) may not call `model`. Stub until the keys area lands: allows all. */
export function checkModelAccess(_record: AuthRecord, _model: string, _table: RouteTable): void {}
