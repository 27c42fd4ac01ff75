import type { JsonObject } from '../wire.js';

/**
 * One stored turn of a Responses API conversation: the response object as the client got it, the input items of
 * that request alone (what `previous_response_id` added before them is found by following `previous`), and who
 * may read it. Storing each turn's own items keeps a long conversation linear in memory, not quadratic.
 */
export interface StoredResponse {
  response: JsonObject;
  /** this request's input items (instructions are not carried over, as in OpenAI's API) */
  input: JsonObject[];
  /** the response this one continued (`previous_response_id`) */
  previous?: string;
  /** the key hash of the caller that made it; undefined when the engine runs without auth */
  owner?: string;
  /** the stored size in bytes (what the memory bound counts) */
  bytes: number;
}

/**
 * Where the engine keeps responses made with `store` on (the default), for `GET` / `DELETE /v1/responses/{id}`
 * and `previous_response_id`. Each operation may answer with a Promise (a database); the handler awaits only then.
 */
export interface ResponseStore {
  get(id: string): StoredResponse | undefined | Promise<StoredResponse | undefined>;
  put(id: string, r: StoredResponse): void | Promise<void>;
  /** true when there was such a response */
  delete(id: string): boolean | Promise<boolean>;
}

/** The default bounds of the in-memory store: whichever is reached first evicts the oldest responses. */
export const MEMORY_STORE_LIMITS = { entries: 10_000, bytes: 256 * 1024 * 1024 };

/**
 * The default store: a Map in insertion order, the oldest evicted first past `entries` responses or `bytes` of
 * stored JSON. A conversation whose earlier turn was evicted can no longer be continued (a clear 404 says so).
 */
export class MemoryResponseStore implements ResponseStore {
  private readonly map = new Map<string, StoredResponse>();
  private total = 0;

  constructor(private readonly limits = MEMORY_STORE_LIMITS) {}

  get(id: string): StoredResponse | undefined {
    return this.map.get(id);
  }

  put(id: string, r: StoredResponse): void {
    this.delete(id);
    this.map.set(id, r);
    this.total += r.bytes;
    for (const [k, v] of this.map) {
      if (this.map.size <= this.limits.entries && this.total <= this.limits.bytes) break;
      if (k === id) break; // never evict what was just stored
      this.map.delete(k);
      this.total -= v.bytes;
    }
  }

  delete(id: string): boolean {
    const r = this.map.get(id);
    if (!r) return false;
    this.map.delete(id);
    this.total -= r.bytes;
    return true;
  }

  get size(): number {
    return this.map.size;
  }
}
