/**
 * The model listing endpoints LiteLLM clients call: /v1/models (and /v1/models/{id}, the SDKs' models.retrieve),
 * /v1/model/info, /v2/model/info, /model_group/info. What the master key sees is computed once per route table (at
 * start-up, and again when the model API swaps in a new one); a virtual key sees the same, filtered to the models
 * it may call.
 */
import { maskSecrets } from '../../config/litellm/secrets.js';
import { GatewayError } from '../errors.js';
import { modelAllowed } from '../governance/access.js';
import type { AuthRecord } from '../governance/types.js';
import type { RouteTable } from '../router/table.js';
import type { JsonObject } from '../wire.js';

export interface ModelBodies {
  models: string;
  modelsWithWildcards: string;
  modelInfo: string;
  /** the /v1/model/info entries (secrets masked), for the filtered and per-deployment answers */
  info: JsonObject[];
  /** every name /v1/models lists (model groups and visible aliases) */
  names: string[];
  /** `model_info.access_groups` of the deployments, in config order */
  accessGroups: string[];
  /** /model_group/info entries by listed name (groups, visible aliases, wildcard patterns) */
  groupInfo: Map<string, JsonObject>;
  created: number;
}

/** Bodies of the model endpoints, computed once per route table. */
export function staticBodies(table: RouteTable, secretValues: string[]): ModelBodies {
  const created = Math.floor(Date.now() / 1000);
  const names = [...table.groups.keys(), ...[...table.aliases].filter(([, a]) => !a.hidden).map(([k]) => k)];
  const wild = table.wildcards.map((w) => w.pattern);
  // belt and braces: any resolved secret that slipped into a param value is masked
  const info = maskSecrets(
    table.deployments.map((d) => d.publicInfo),
    secretValues,
  ) as JsonObject[];
  const accessGroups: string[] = [];
  for (const e of info) {
    const ag = (e.model_info as JsonObject | undefined)?.access_groups;
    if (Array.isArray(ag))
      for (const a of ag) if (typeof a === 'string' && !accessGroups.includes(a)) accessGroups.push(a);
  }
  const groupInfo = new Map<string, JsonObject>();
  for (const [name, g] of table.groups)
    groupInfo.set(name, modelGroupInfo(name, g.deployments.map(entryOf(table, info))));
  for (const w of table.wildcards)
    groupInfo.set(w.pattern, modelGroupInfo(w.pattern, w.group.deployments.map(entryOf(table, info))));
  for (const [alias, a] of table.aliases) {
    const target = groupInfo.get(a.target);
    if (!a.hidden && target) groupInfo.set(alias, { ...target, model_group: alias });
  }
  return {
    models: listBody(names, created),
    modelsWithWildcards: listBody([...names, ...wild], created),
    modelInfo: JSON.stringify({ data: info }),
    info,
    names,
    accessGroups,
    groupInfo,
    created,
  };
}

const entryOf = (table: RouteTable, info: JsonObject[]) => (d: RouteTable['deployments'][number]) =>
  info[table.deployments.indexOf(d)];

function listBody(ids: string[], created: number): string {
  return JSON.stringify({
    object: 'list',
    data: ids.map((id) => ({ id, object: 'model', created, owned_by: 'openai' })),
  });
}

const SUPPORTS = ['supports_parallel_function_calling', 'supports_vision', 'supports_function_calling'];

/**
 * One group as LiteLLM's /model_group/info shows it (its ModelGroupInfo): providers, the largest context and
 * output limits and prices over the deployments, their summed tpm/rpm, and a `supports_*` flag true when any
 * deployment's model_info (the config's, over the price map's) says so.
 */
function modelGroupInfo(name: string, entries: JsonObject[]): JsonObject {
  const out: JsonObject = {
    model_group: name,
    providers: [],
    max_input_tokens: null,
    max_output_tokens: null,
    input_cost_per_token: null,
    output_cost_per_token: null,
    mode: 'chat',
    tpm: null,
    rpm: null,
  };
  for (const k of SUPPORTS) out[k] = false;
  const providers = out.providers as string[];
  let mode: string | undefined;
  const max = (k: string, v: unknown) => {
    if (typeof v === 'number' && Number.isFinite(v)) out[k] = Math.max(v, (out[k] as number | null) ?? v);
  };
  const sum = (k: string, v: unknown) => {
    if (typeof v === 'number' && Number.isFinite(v)) out[k] = ((out[k] as number | null) ?? 0) + v;
  };
  for (const e of entries) {
    const info = (e.model_info ?? {}) as JsonObject;
    const params = (e.litellm_params ?? {}) as JsonObject;
    if (typeof info.litellm_provider === 'string' && !providers.includes(info.litellm_provider))
      providers.push(info.litellm_provider);
    max('max_input_tokens', info.max_input_tokens ?? info.max_tokens);
    max('max_output_tokens', info.max_output_tokens);
    max('input_cost_per_token', info.input_cost_per_token);
    max('output_cost_per_token', info.output_cost_per_token);
    sum('tpm', params.tpm ?? info.tpm);
    sum('rpm', params.rpm ?? info.rpm);
    if (mode === undefined && typeof info.mode === 'string') mode = info.mode;
    for (const k in info) if (k.startsWith('supports_') && info[k] === true) out[k] = true;
  }
  if (mode) out.mode = mode;
  return out;
}

const TRUE = /^(?:true|1|yes)$/i;

/** A model-name 404 in OpenAI's shape (what models.retrieve raises as NotFoundError). */
function modelNotFound(id: string): GatewayError {
  return new GatewayError(404, {
    message: `The model '${id}' does not exist or you do not have access to it.`,
    type: 'invalid_request_error',
    param: 'model',
    code: 'model_not_found',
    errorClass: 'not_found',
  });
}

/**
 * The body of a model endpoint for `route` (after `/v1` is stripped), or undefined when `route` is none of them.
 * `record` is a virtual key's: it sees only the models it may call. Throws a GatewayError for an unknown id.
 */
export function modelEndpoint(
  bodies: ModelBodies,
  table: RouteTable,
  route: string,
  url: string,
  record: AuthRecord | undefined,
): string | undefined {
  const q = url.indexOf('?');
  const query = q === -1 ? undefined : new URLSearchParams(url.slice(q + 1));
  const allowed = (name: string) => !record || modelAllowed(record, name, table);
  const visible = (entries: JsonObject[]) => (record ? entries.filter((e) => allowed(String(e.model_name))) : entries);
  switch (route) {
    case '/models': {
      // LiteLLM's flag: list the model access groups (model_info.access_groups) instead of the models
      if (TRUE.test(query?.get('only_model_access_groups') ?? ''))
        return listBody(bodies.accessGroups.filter(allowed), bodies.created);
      const wild = TRUE.test(query?.get('return_wildcard_routes') ?? '');
      if (!record) return wild ? bodies.modelsWithWildcards : bodies.models;
      const names = wild ? [...bodies.names, ...table.wildcards.map((w) => w.pattern)] : bodies.names;
      return listBody(names.filter(allowed), Math.floor(Date.now() / 1000));
    }
    case '/model/info': {
      const id = query?.get('litellm_model_id');
      if (!id) return record ? JSON.stringify({ data: visible(bodies.info) }) : bodies.modelInfo;
      const one = visible(bodies.info).filter((e) => (e.model_info as JsonObject).id === id);
      // LiteLLM answers an unknown deployment id with a 400 naming it
      if (!one.length)
        throw new GatewayError(400, {
          message: `Model id = ${id} not found on litellm proxy`,
          param: 'litellm_model_id',
          code: '400',
        });
      return JSON.stringify({ data: one });
    }
    case '/v2/model/info':
      return v2ModelInfo(visible(bodies.info), query);
    case '/model_group/info': {
      const only = query?.get('model_group');
      const data: JsonObject[] = [];
      for (const [name, g] of bodies.groupInfo) if ((!only || only === name) && allowed(name)) data.push(g);
      return JSON.stringify({ data });
    }
  }
  if (route.startsWith('/models/')) {
    // models.retrieve: the id may hold slashes (`openai/gpt-4o`), sent as they are or %2F-encoded
    let id: string;
    try {
      id = decodeURIComponent(route.slice(8));
    } catch {
      throw modelNotFound(route.slice(8));
    }
    if (!bodies.names.includes(id) || !allowed(id)) throw modelNotFound(id);
    return JSON.stringify({ id, object: 'model', created: bodies.created, owned_by: 'openai' });
  }
  return undefined;
}

/**
 * /v2/model/info: the deployments of /v1/model/info, filtered by `model` (exact model name), `modelId` (the
 * deployment id) and `search` (part of the model name, any case), one page at a time (`page` from 1, `size`
 * 1-100, default 50) with LiteLLM's paging fields.
 */
function v2ModelInfo(entries: JsonObject[], query: URLSearchParams | undefined): string {
  let data = entries;
  const model = query?.get('model');
  const id = query?.get('modelId') ?? query?.get('model_id');
  const search = query?.get('search')?.toLowerCase();
  if (model) data = data.filter((e) => e.model_name === model);
  if (id) data = data.filter((e) => (e.model_info as JsonObject).id === id);
  if (search) data = data.filter((e) => String(e.model_name).toLowerCase().includes(search));
  const int = (k: string, dflt: number, lo: number, hi: number) => {
    const n = Number.parseInt(query?.get(k) ?? '', 10);
    return Number.isFinite(n) ? Math.min(hi, Math.max(lo, n)) : dflt;
  };
  const size = int('size', 50, 1, 100);
  const total = data.length;
  const pages = Math.max(1, Math.ceil(total / size));
  const page = int('page', 1, 1, Number.MAX_SAFE_INTEGER);
  return JSON.stringify({
    data: data.slice((page - 1) * size, page * size),
    total_count: total,
    current_page: page,
    total_pages: pages,
    size,
  });
}
