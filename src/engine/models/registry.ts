/**
 * Models at run time: the config's models (read-only) plus those the model API added, changed or deleted.
 * Every change builds a new route table from both and swaps it into the engine at once: a request keeps the
 * table it started with, and a deployment whose entry did not change is reused as it is (its cooldowns, usage
 * and latency stay). With `general_settings.store_model_in_db` and a governance store, API models live in the
 * store (credentials encrypted with LITELLM_SALT_KEY) and every engine sharing it polls one version number to
 * apply the changes of the others; otherwise they live in memory until the engine stops, and say so.
 */
import { randomUUID } from 'node:crypto';
import type { LoadedConfig } from '../../config/litellm/load.js';
import { modelEntrySchema } from '../../config/litellm/schema.js';
import { MASK, type RefContext, resolveSecretRefs, secretRefName } from '../../config/litellm/secrets.js';
import type { EngineContext } from '../context.js';
import type { PriceMap } from '../cost/prices.js';
import { staticBodies } from '../endpoints/models.js';
import { GatewayError } from '../errors.js';
import type { EngineLogger } from '../observability/logger.js';
import { buildRouteTable, type ExtraEntry, type RouteTable } from '../router/table.js';
import type { JsonObject } from '../wire.js';
import { CredentialCipher, credentialKeys, isCredentialParam, isSealed } from './credentials.js';
import type { ModelStore, ProxyModelRow } from './store.js';

/** A model added through the API: its params as sent (credentials in the clear, references unresolved). */
export interface RuntimeModel {
  id: string;
  modelName: string;
  params: Record<string, unknown>;
  info: Record<string, unknown>;
  createdAt: number;
  createdBy: string | null;
  updatedAt: number;
  updatedBy: string | null;
}

export interface ModelRegistryOptions {
  ctx: EngineContext;
  loaded: LoadedConfig;
  env: NodeJS.ProcessEnv;
  prices?: PriceMap;
  logger: EngineLogger;
  /** the store API models persist in (store_model_in_db with a governance store); none: in memory */
  store?: ModelStore;
  /** LITELLM_SALT_KEY: encrypts stored credentials; without it a model with credentials is not stored */
  saltKey?: string;
  /** how often the store's version is read (default 2 s) */
  pollMs?: number;
  /** why the API's models are not persisted, for the responses and the log */
  memoryReason?: string;
  /** told after every swap (governance, metrics, alerts, health checks hold the table too) */
  onSwap?: ((table: RouteTable) => void)[];
}

/** LiteLLM's name for the proxy admin in created_by / updated_by (LITELLM_PROXY_ADMIN_NAME). */
export const PROXY_ADMIN_NAME = 'default_user_id';

const badRequest = (message: string, param: string | null = null) =>
  new GatewayError(400, { message, param, code: '400', errorClass: 'bad_request' });

export class ModelRegistry {
  private models = new Map<string, RuntimeModel>();
  /** ids of the config's deployments (read-only through the API) */
  private configIds: Set<string>;
  private readonly cipher?: CredentialCipher;
  private chain: Promise<unknown> = Promise.resolve();
  private seen = -1;
  private timer?: NodeJS.Timeout;
  private closed = false;
  private pollFailing = false;
  readonly onSwap: ((table: RouteTable) => void)[];

  constructor(private readonly opts: ModelRegistryOptions) {
    this.configIds = new Set(opts.ctx.table.deployments.map((d) => d.id));
    this.cipher = opts.saltKey ? new CredentialCipher(opts.saltKey) : undefined;
    this.onSwap = opts.onSwap ?? [];
  }

  /** Whether API changes are written to the store (and reach other engines). */
  get persistent(): boolean {
    return this.opts.store !== undefined;
  }

  /** Load the stored models (before the engine serves) and start polling for other engines' changes. */
  async start(): Promise<void> {
    const store = this.opts.store;
    if (!store) {
      this.opts.logger.info({ reason: this.opts.memoryReason }, 'model API changes are kept in memory until restart');
      return;
    }
    await this.serial(() => this.reload());
    this.opts.logger.info({ db_models: this.models.size }, 'models from the database loaded');
    this.schedule();
  }

  close(): void {
    this.closed = true;
    clearTimeout(this.timer);
  }

  /**
   * Serve a new config's models (a config reload): the table is built from it plus the API's models and swapped
   * in at once, like an API change; in-flight requests keep the table they started with. Resolves to the new
   * table, or rejects (the old one stays in force) when it cannot be built or `accept` throws.
   */
  reloadConfig(loaded: LoadedConfig, accept?: (table: RouteTable) => void): Promise<RouteTable> {
    return this.serial(async () => {
      const previous = this.opts.loaded;
      this.opts.loaded = loaded;
      let table: RouteTable;
      try {
        table = await this.build(this.models);
        accept?.(table);
      } catch (e) {
        this.opts.loaded = previous;
        throw e;
      }
      this.configIds = new Set(table.deployments.filter((d) => !this.models.has(d.id)).map((d) => d.id));
      this.swap(table);
      return table;
    });
  }

  /** Whether `id` is a deployment of the config file. */
  isConfigModel(id: string): boolean {
    return this.configIds.has(id);
  }

  /** `POST /model/new`: validate, build, store, swap. Returns LiteLLM's row shape. */
  add(body: JsonObject, by: string): Promise<JsonObject> {
    return this.serial(async () => {
      const modelName = body.model_name;
      if (typeof modelName !== 'string' || modelName === '')
        throw badRequest('model_name is required: the name clients call the model by', 'model_name');
      const params = objectOf(body.litellm_params, 'litellm_params');
      if (typeof params.model !== 'string' || params.model === '')
        throw badRequest('litellm_params.model is required (e.g. "openai/gpt-4o")', 'litellm_params.model');
      const info = { ...objectOf(body.model_info ?? {}, 'model_info') };
      const id = info.id === undefined || info.id === null || info.id === '' ? randomUUID() : String(info.id);
      delete info.id;
      delete info.db_model;
      if (this.configIds.has(id) || this.models.has(id))
        throw badRequest(`a model with id ${id} already exists (model_info.id must be unique)`, 'model_info.id');
      const now = Date.now();
      const m: RuntimeModel = {
        id,
        modelName,
        params,
        info,
        createdAt: now,
        createdBy: by,
        updatedAt: now,
        updatedBy: by,
      };
      const row = this.rowOf(m);
      const next = new Map(this.models).set(id, m);
      const table = await this.buildChecked(next, id);
      await this.opts.store?.insert(row);
      this.models = next;
      this.swap(table);
      this.opts.logger.info(
        { model_name: modelName, model_id: id, persisted: this.persistent },
        this.persistent ? 'model added' : 'model added (in memory: lost at restart)',
      );
      return this.view(m);
    });
  }

  /**
   * `POST /model/update` (`model_info.id` names it) and `PATCH /model/{id}/update`: `model_name` renames,
   * `litellm_params` and `model_info` are merged over what is stored (a null removes a field).
   */
  update(id: string | undefined, body: JsonObject, by: string): Promise<JsonObject> {
    return this.serial(async () => {
      const info = body.model_info && typeof body.model_info === 'object' ? (body.model_info as JsonObject) : {};
      const target = id ?? (info.id !== undefined && info.id !== null ? String(info.id) : undefined);
      if (!target) throw badRequest('model_info.id is required: the id of the model to update', 'model_info.id');
      const old = this.existing(target, 'update');
      const patch = body.litellm_params === undefined ? {} : objectOf(body.litellm_params, 'litellm_params');
      const params = merge(old.params, patch);
      if (typeof params.model !== 'string' || params.model === '')
        throw badRequest('litellm_params.model cannot be removed', 'litellm_params.model');
      const { id: _i, db_model: _d, ...infoPatch } = info;
      const name = body.model_name;
      if (name !== undefined && (typeof name !== 'string' || name === ''))
        throw badRequest('model_name must be a non-empty string', 'model_name');
      const m: RuntimeModel = {
        ...old,
        modelName: (name as string | undefined) ?? old.modelName,
        params,
        info: merge(old.info, infoPatch),
        updatedAt: Date.now(),
        updatedBy: by,
      };
      const next = new Map(this.models).set(target, m);
      const table = await this.buildChecked(next, target);
      await this.opts.store?.update(this.rowOf(m));
      this.models = next;
      this.swap(table);
      this.opts.logger.info({ model_name: m.modelName, model_id: target, persisted: this.persistent }, 'model updated');
      return this.view(m);
    });
  }

  /** `POST /model/delete` (`{id}`): LiteLLM's `{"message": "Model: <id> deleted successfully"}`. */
  remove(id: unknown): Promise<JsonObject> {
    return this.serial(async () => {
      if (typeof id !== 'string' || id === '') throw badRequest('id is required: the model_info.id to delete', 'id');
      const old = this.existing(id, 'delete');
      const next = new Map(this.models);
      next.delete(id);
      const table = await this.build(next);
      await this.opts.store?.remove(id);
      this.models = next;
      this.swap(table);
      this.opts.logger.info({ model_name: old.modelName, model_id: id, persisted: this.persistent }, 'model deleted');
      return { message: `Model: ${id} deleted successfully` };
    });
  }

  /** The API model `id`, or the 400 LiteLLM gives (a config model cannot be changed through the API). */
  private existing(id: string, what: 'update' | 'delete'): RuntimeModel {
    const m = this.models.get(id);
    if (m) return m;
    if (this.configIds.has(id))
      throw badRequest(
        `Can't ${what} model ${id}: it is defined in the config file, which the model API does not change ` +
          `(edit the config and restart, or add the model with /model/new to manage it here)`,
        'id',
      );
    throw badRequest(`Model with id=${id} not found`, 'id');
  }

  /** Run `fn` after every change before it (changes and polls never interleave). */
  private serial<T>(fn: () => Promise<T>): Promise<T> {
    const run = this.chain.then(fn, fn);
    this.chain = run.catch(() => {});
    return run;
  }

  private swap(table: RouteTable): void {
    const ctx = this.opts.ctx;
    ctx.table = table;
    ctx.staticBodies = staticBodies(table, ctx.secretValues);
    for (const fn of this.onSwap) fn(table);
  }

  /** A table of the config plus `models`; a model that cannot be built is left out with a warning. */
  private async build(models: Map<string, RuntimeModel>): Promise<RouteTable> {
    const extra: ExtraEntry[] = [];
    for (const m of models.values()) {
      const r = this.entryOf(m);
      if ('error' in r) this.opts.logger.warn({ model_id: m.id, model_name: m.modelName }, r.error);
      else extra.push(r);
    }
    const o = this.opts;
    return buildRouteTable(o.loaded, o.env, o.prices, { extra, previous: o.ctx.table });
  }

  /** `build`, refusing (400) when the model `id` would not be served, with the reason. */
  private async buildChecked(models: Map<string, RuntimeModel>, id: string): Promise<RouteTable> {
    const r = this.entryOf(models.get(id)!);
    if ('error' in r) throw badRequest(r.error, 'litellm_params');
    const table = await this.build(models);
    if (!table.deployments.some((d) => d.id === id)) {
      const why = table.warnings.filter((w) => w.path.startsWith(atOf(id))).map((w) => w.message);
      throw badRequest(
        `the model cannot be served: ${why.join('; ') || 'its provider is not supported'}`,
        'litellm_params',
      );
    }
    return table;
  }

  /** The model as a config entry: references resolved (their secrets masked from now on), checked. */
  private entryOf(m: RuntimeModel): ExtraEntry | { error: string } {
    const at = atOf(m.id);
    const ctx: RefContext = {
      env: { ...this.opts.env, ...this.opts.loaded.environment },
      warnings: [],
      secrets: new Set(),
      label: 'model API',
      unset: new Map(),
    };
    const params = resolveSecretRefs(m.params, `${at}.litellm_params`, ctx) as Record<string, unknown>;
    if (ctx.unset.size > 0) {
      const [path, name] = [...ctx.unset][0];
      return { error: `${path} refers to the environment variable ${name}, which is not set on this engine` };
    }
    // masked from now on in answers and errors: a new array, since maskers are cached per array
    const known = this.opts.ctx.secretValues;
    const fresh = [...ctx.secrets].filter((s) => s.length >= 4 && !known.includes(s));
    if (fresh.length > 0) this.opts.ctx.secretValues = [...known, ...fresh];
    const parsed = modelEntrySchema.safeParse({
      model_name: m.modelName,
      litellm_params: params,
      model_info: {
        ...m.info,
        id: m.id,
        created_at: new Date(m.createdAt).toISOString(),
        created_by: m.createdBy,
        updated_at: new Date(m.updatedAt).toISOString(),
        updated_by: m.updatedBy,
      },
    });
    if (!parsed.success) {
      const issue = parsed.error.issues[0];
      return { error: `${issue.path.join('.') || 'model'}: ${issue.message}` };
    }
    return { entry: parsed.data, at };
  }

  /** The row to store: credentials sealed (refused without LITELLM_SALT_KEY). */
  private rowOf(m: RuntimeModel): ProxyModelRow {
    let params = m.params;
    if (this.opts.store) {
      const creds = credentialKeys(params);
      if (creds.length > 0 && !this.cipher)
        throw badRequest(
          `LITELLM_SALT_KEY is not set, so the credentials in litellm_params (${creds.join(', ')}) cannot be ` +
            'stored encrypted: set LITELLM_SALT_KEY (a long random secret, never changed afterwards) and ' +
            'restart, or pass them as os.environ/VAR references',
          'litellm_params',
        );
      if (this.cipher) params = this.cipher.seal(params);
    }
    return {
      model_id: m.id,
      model_name: m.modelName,
      litellm_params: JSON.stringify(params),
      model_info: JSON.stringify(m.info),
      created_at: m.createdAt,
      created_by: m.createdBy,
      updated_at: m.updatedAt,
      updated_by: m.updatedBy,
    };
  }

  /** A stored row as a runtime model (credentials decrypted); undefined with a warning when it cannot be read. */
  private fromRow(r: ProxyModelRow): RuntimeModel | undefined {
    let params: Record<string, unknown>;
    try {
      params = JSON.parse(r.litellm_params) as Record<string, unknown>;
      if (Object.values(params).some(isSealed)) {
        if (!this.cipher) throw new Error('its credentials are encrypted and LITELLM_SALT_KEY is not set');
        params = this.cipher.open(params);
      }
    } catch (e) {
      this.opts.logger.warn(
        { model_id: r.model_id, model_name: r.model_name, error: (e as Error).message },
        'a model stored in the database cannot be served',
      );
      return undefined;
    }
    let info: Record<string, unknown> = {};
    try {
      info = JSON.parse(r.model_info) as Record<string, unknown>;
    } catch {
      // a row written by another tool: no model_info
    }
    return {
      id: r.model_id,
      modelName: r.model_name,
      params,
      info,
      createdAt: Number(r.created_at),
      createdBy: r.created_by,
      updatedAt: Number(r.updated_at),
      updatedBy: r.updated_by,
    };
  }

  /** Read the store's models when its version moved, and swap in their table. */
  private async reload(): Promise<void> {
    const store = this.opts.store!;
    const v = await store.version();
    if (v === this.seen) return;
    const rows = await store.list();
    const next = new Map<string, RuntimeModel>();
    for (const r of rows) {
      if (this.configIds.has(r.model_id)) continue;
      const m = this.fromRow(r);
      if (m) next.set(m.id, m);
    }
    const table = await this.build(next);
    this.seen = v;
    this.models = next;
    this.swap(table);
  }

  private schedule(): void {
    if (this.closed) return;
    this.timer = setTimeout(() => {
      void this.serial(() => this.reload())
        .then(() => {
          if (this.pollFailing) this.opts.logger.info({}, 'model store reachable again');
          this.pollFailing = false;
        })
        .catch((e) => {
          if (!this.pollFailing)
            this.opts.logger.warn({ error: (e as Error).message }, 'cannot read the models from the database');
          this.pollFailing = true;
        })
        .finally(() => this.schedule());
    }, this.opts.pollMs ?? 2000);
    this.timer.unref();
  }

  /** LiteLLM's row shape (LiteLLM_ProxyModelTable), credentials masked, with a note when not persisted. */
  private view(m: RuntimeModel): JsonObject {
    const out: JsonObject = {
      model_id: m.id,
      model_name: m.modelName,
      litellm_params: maskParams(m.params),
      model_info: { ...(m.info as JsonObject), id: m.id, db_model: true },
      created_at: new Date(m.createdAt).toISOString(),
      created_by: m.createdBy,
      updated_at: new Date(m.updatedAt).toISOString(),
      updated_by: m.updatedBy,
    };
    if (!this.persistent)
      out.note = `kept in memory only: this change is lost when the engine restarts (${this.opts.memoryReason})`;
    return out;
  }
}

/** The key path of an API model in warnings. */
function atOf(id: string): string {
  return `db_model[${id}]`;
}

/** A JSON object field, or a 400 naming it. */
function objectOf(v: unknown, name: string): Record<string, unknown> {
  if (v && typeof v === 'object' && !Array.isArray(v)) return { ...(v as Record<string, unknown>) };
  throw badRequest(`${name} must be an object`, name);
}

/** `patch` over `base`; a null in the patch removes the field. */
function merge(base: Record<string, unknown>, patch: Record<string, unknown>): Record<string, unknown> {
  const out = { ...base };
  for (const [k, v] of Object.entries(patch)) {
    if (v === null) delete out[k];
    else if (v !== undefined) out[k] = v;
  }
  return out;
}

/** Params as the API shows them: credentials masked (a reference `os.environ/VAR` is shown as it is). */
function maskParams(params: Record<string, unknown>): JsonObject {
  const out: JsonObject = {};
  for (const [k, v] of Object.entries(params)) {
    if (!isCredentialParam(k) || secretRefName(v) !== undefined) out[k] = v as JsonObject[string];
    else if (v && typeof v === 'object') out[k] = Object.fromEntries(Object.keys(v).map((h) => [h, MASK]));
    else out[k] = MASK;
  }
  return out;
}
