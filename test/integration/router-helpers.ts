import { type Call, type FaultUpstream, startFaultUpstream } from '../fakes/fault-upstream.js';
import { post, startTestEngine, type TestEngine } from './engine-helpers.js';

/** Fakes by name, sharing one call log, and engines, all closed by `closeAll()`. */
export interface Rig {
  log: Call[];
  ups: Record<string, FaultUpstream>;
  engines: TestEngine[];
  /** a model_list entry for group `group` served by fake `up` (upstream model `model`, default `${up}-model`) */
  dep(
    group: string,
    up: string,
    params?: Record<string, unknown>,
    modelInfo?: Record<string, unknown>,
  ): Record<string, unknown>;
  engine(config: Record<string, unknown>): Promise<TestEngine>;
  closeAll(): Promise<void>;
}

/** Start named fakes for a test file. */
export async function startRig(names: string[]): Promise<Rig> {
  const log: Call[] = [];
  const ups: Record<string, FaultUpstream> = {};
  for (const n of names) ups[n] = await startFaultUpstream(n, log);
  const engines: TestEngine[] = [];
  return {
    log,
    ups,
    engines,
    dep: (group, up, params = {}, modelInfo) => ({
      model_name: group,
      litellm_params: { model: `openai/${up}-model`, api_base: ups[up].base, api_key: 'sk-fake', ...params },
      model_info: { id: `${group}-${up}`, ...modelInfo },
    }),
    engine: async (config) => {
      const e = await startTestEngine(config);
      engines.push(e);
      return e;
    },
    closeAll: async () => {
      await Promise.all(engines.map((e) => e.close()));
      await Promise.all(Object.values(ups).map((u) => u.close()));
    },
  };
}

/** Forget earlier calls and scripts. */
export function reset(rig: Rig): void {
  rig.log.length = 0;
  for (const u of Object.values(rig.ups)) {
    u.calls.length = 0;
    u.script([]);
  }
}

/** A chat request through the engine. */
export function chat(engine: TestEngine, model: string, extra: Record<string, unknown> = {}) {
  return post(`${engine.url}/v1/chat/completions`, { model, messages: [{ role: 'user', content: 'hi' }], ...extra });
}

/** Upstream names in call order. */
export function order(rig: Rig): string[] {
  return rig.log.map((c) => c.upstream);
}
