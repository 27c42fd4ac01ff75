import type { GovernanceDb } from '../governance/db/open.js';
import { parseJson } from '../governance/db/schema.js';
import type { JsonObject } from '../wire.js';
import type { ResponseStore, StoredResponse } from './store.js';

/**
 * Responses kept in the governance database (SQLite or Postgres, table `responses`): they outlive a restart and
 * are shared by every engine on the store, so a conversation may continue on another replica. No bound: a
 * response stays until `DELETE /v1/responses/{id}`. A write is not awaited by the answer: until it lands, the
 * response is served from `pending` (a client continuing at once finds it), and `flush()` (at shutdown) waits.
 */
export class DbResponseStore implements ResponseStore {
  private readonly pending = new Map<string, { r: StoredResponse; write: Promise<void> }>();

  constructor(
    private readonly store: GovernanceDb,
    private readonly now: () => number = Date.now,
  ) {}

  async get(id: string): Promise<StoredResponse | undefined> {
    const p = this.pending.get(id);
    if (p) return p.r;
    const row = await this.store.db.selectFrom('responses').selectAll().where('id', '=', id).executeTakeFirst();
    if (!row) return undefined;
    return {
      response: parseJson<JsonObject>(row.response, {}),
      input: parseJson<JsonObject[]>(row.input, []),
      previous: row.previous_id ?? undefined,
      owner: row.owner ?? undefined,
      bytes: row.response.length + row.input.length,
    };
  }

  put(id: string, r: StoredResponse): Promise<void> {
    const write = this.write(id, r).finally(() => {
      if (this.pending.get(id)?.r === r) this.pending.delete(id);
    });
    this.pending.set(id, { r, write });
    return write;
  }

  private async write(id: string, r: StoredResponse): Promise<void> {
    const row = {
      id,
      owner: r.owner ?? null,
      previous_id: r.previous ?? null,
      response: JSON.stringify(r.response),
      input: JSON.stringify(r.input),
      created_at: this.now(),
    };
    // an upstream that gives the same id twice (a replay) overwrites
    await this.store.db
      .insertInto('responses')
      .values(row)
      .onConflict((oc) =>
        oc.column('id').doUpdateSet({
          owner: row.owner,
          previous_id: row.previous_id,
          response: row.response,
          input: row.input,
          created_at: row.created_at,
        }),
      )
      .execute();
  }

  async delete(id: string): Promise<boolean> {
    const p = this.pending.get(id);
    if (p) await p.write.catch(() => undefined); // else the insert could land after the delete
    const r = await this.store.db.deleteFrom('responses').where('id', '=', id).executeTakeFirst();
    return Number(r.numDeletedRows) > 0;
  }

  /** Wait for every write under way (the engine's shutdown, before the database closes). */
  async flush(): Promise<void> {
    await Promise.allSettled([...this.pending.values()].map((p) => p.write));
  }
}
