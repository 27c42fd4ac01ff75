/**
 * The models the model API added, in the governance store (`proxy_models`, LiteLLM's LiteLLM_ProxyModelTable),
 * and the one-row version every change bumps: engines sharing the store poll that integer (one indexed read
 * every ~2 s) and read the rows only when it moved.
 */
import type { GovernanceDb } from '../governance/db/open.js';
import type { ProxyModelRow } from '../governance/db/schema.js';

export type { ProxyModelRow } from '../governance/db/schema.js';

export class ModelStore {
  constructor(readonly store: GovernanceDb) {}

  /** The change counter (0 before any change). */
  async version(): Promise<number> {
    const r = await this.store.db.selectFrom('proxy_model_version').select('version').where('id', '=', 1).execute();
    return Number(r[0]?.version ?? 0);
  }

  async list(): Promise<ProxyModelRow[]> {
    return this.store.db.selectFrom('proxy_models').selectAll().orderBy('created_at').orderBy('model_id').execute();
  }

  async get(id: string): Promise<ProxyModelRow | undefined> {
    return this.store.db.selectFrom('proxy_models').selectAll().where('model_id', '=', id).executeTakeFirst();
  }

  async insert(row: ProxyModelRow): Promise<void> {
    await this.store.db.insertInto('proxy_models').values(row).execute();
    await this.bump();
  }

  async update(row: ProxyModelRow): Promise<void> {
    const { model_id, created_at: _c, created_by: _b, ...fields } = row;
    await this.store.db.updateTable('proxy_models').set(fields).where('model_id', '=', model_id).execute();
    await this.bump();
  }

  /** Delete a row; false when there was none. */
  async remove(id: string): Promise<boolean> {
    const r = await this.store.db.deleteFrom('proxy_models').where('model_id', '=', id).executeTakeFirst();
    if (Number(r.numDeletedRows) === 0) return false;
    await this.bump();
    return true;
  }

  private async bump(): Promise<void> {
    await this.store.db
      .updateTable('proxy_model_version')
      .set((eb) => ({ version: eb('version', '+', 1) }))
      .where('id', '=', 1)
      .execute();
  }
}
