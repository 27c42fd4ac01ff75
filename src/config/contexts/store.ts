import fs from 'node:fs';
import path from 'node:path';
import { Document, isMap, isNode, isSeq, LineCounter, parseDocument, type YAMLMap, type YAMLSeq } from 'yaml';
import { ConfigError, UserError } from '../../errors.js';
import { writeFileAtomic } from '../../util/atomic-write.js';
import { expandHome, kubiyaDir } from '../../util/paths.js';
import { formatPath } from '../litellm/load.js';
import { contextsFromData, type KubiyaContext, kubiyaConfigSchema } from './schema.js';

/** `$KUBIYA_CONFIG` or `~/.kubiya/config`. */
export function kubiyaConfigPath(env: NodeJS.ProcessEnv = process.env): string {
  const p = env.KUBIYA_CONFIG;
  return p && p.trim() !== '' ? path.resolve(expandHome(p.trim(), env)) : path.join(kubiyaDir(env), 'config');
}

/**
 * The kubectl-style config file, kept as a YAML Document so a rewrite preserves comments and keys
 * this CLI does not know. A missing file is an empty config.
 */
export class KubiyaConfigFile {
  readonly path: string;
  readonly exists: boolean;
  readonly doc: Document;
  /** typed contexts, as of the last load or edit */
  contexts: KubiyaContext[];
  currentName: string | undefined;

  private constructor(file: string, exists: boolean, doc: Document) {
    this.path = file;
    this.exists = exists;
    this.doc = doc;
    this.contexts = [];
    this.currentName = undefined;
    this.refresh();
  }

  /** Read and validate the file; syntax and shape errors name the file and line. */
  static load(file: string = kubiyaConfigPath()): KubiyaConfigFile {
    let text: string;
    try {
      text = fs.readFileSync(file, 'utf8');
    } catch (e) {
      const code = (e as NodeJS.ErrnoException).code;
      if (code === 'ENOENT') return new KubiyaConfigFile(file, false, emptyDoc());
      throw new ConfigError(
        file,
        '',
        `cannot read the kubiya config: ${code === 'EACCES' ? 'permission denied' : (e as Error).message}`,
      );
    }
    const lc = new LineCounter();
    const doc = parseDocument(text, { lineCounter: lc, prettyErrors: false, uniqueKeys: true });
    if (doc.errors.length > 0) {
      const err = doc.errors[0];
      const pos = lc.linePos(err.pos[0]);
      throw new ConfigError(file, '', `YAML syntax error: ${err.message.split('\n')[0]}`, {
        line: pos.line,
        column: pos.col,
      });
    }
    if (doc.contents === null) return new KubiyaConfigFile(file, true, emptyDoc());
    const data = doc.toJS();
    if (typeof data !== 'object' || Array.isArray(data)) {
      throw new ConfigError(file, '', 'expected a mapping (apiVersion, current-context, contexts, users)', { line: 1 });
    }
    const res = kubiyaConfigSchema.safeParse(data);
    if (!res.success) {
      const issue = res.error.issues[0];
      const p = issue.path as (string | number)[];
      const pos = lineOf(doc, lc, p);
      const what = issue.code === 'invalid_type' ? `expected ${issue.expected}` : issue.message;
      throw new ConfigError(file, formatPath(p), what, pos ?? {});
    }
    return new KubiyaConfigFile(file, true, doc);
  }

  /** Recompute typed views after an edit (the edit helpers call it). */
  refresh(): void {
    const data = kubiyaConfigSchema.parse(this.doc.toJS() ?? {});
    this.contexts = contextsFromData(data);
    this.currentName = data['current-context'] ?? undefined;
  }

  /** The context with this name, if any. */
  get(name: string): KubiyaContext | undefined {
    return this.contexts.find((c) => c.name === name);
  }

  /** Like get, but an unknown name is an error that lists the names there are. */
  require(name: string): KubiyaContext {
    const c = this.get(name);
    if (!c) throw unknownContext(name, this);
    return c;
  }

  /** The context name in effect: `KUBIYA_CONTEXT` for this invocation, else the file's current-context. */
  effectiveName(env: NodeJS.ProcessEnv = process.env): { name?: string; from: 'KUBIYA_CONTEXT' | 'file' | 'none' } {
    const forced = env.KUBIYA_CONTEXT?.trim();
    if (forced) return { name: forced, from: 'KUBIYA_CONTEXT' };
    return this.currentName ? { name: this.currentName, from: 'file' } : { from: 'none' };
  }

  /** The `contexts` sequence, created when missing. */
  contextSeq(): YAMLSeq {
    let seq = this.doc.get('contexts', true);
    if (!isSeq(seq)) {
      seq = this.doc.createNode([]) as YAMLSeq;
      this.doc.set('contexts', seq);
    }
    return seq as YAMLSeq;
  }

  /** The `users` sequence, created when missing. */
  userSeq(): YAMLSeq {
    let seq = this.doc.get('users', true);
    if (!isSeq(seq)) {
      seq = this.doc.createNode([]) as YAMLSeq;
      this.doc.set('users', seq);
    }
    return seq as YAMLSeq;
  }

  /** The entry `{name, context}` of a context in the document. */
  entryNode(name: string): YAMLMap | undefined {
    const seq = this.doc.get('contexts', true);
    if (!isSeq(seq)) return undefined;
    return seq.items.find((it): it is YAMLMap => isMap(it) && it.get('name') === name);
  }

  /** Write atomically with mode 0600, keeping comments and unknown keys. */
  save(): void {
    writeFileAtomic(this.path, this.doc.toString({ lineWidth: 0 }), 0o600);
    this.refresh();
  }
}

/** Load the kubiya config (from `KUBIYA_CONFIG` or `~/.kubiya/config`). */
export function loadKubiyaConfig(file?: string): KubiyaConfigFile {
  return KubiyaConfigFile.load(file);
}

/**
 * The context in effect for this invocation (honours `KUBIYA_CONTEXT`), or undefined when none is set.
 * A `KUBIYA_CONTEXT` naming a context that does not exist is an error.
 */
export function currentContext(
  cfg: KubiyaConfigFile = loadKubiyaConfig(),
  env: NodeJS.ProcessEnv = process.env,
): KubiyaContext | undefined {
  const eff = cfg.effectiveName(env);
  if (!eff.name) return undefined;
  const c = cfg.get(eff.name);
  if (c) return c;
  if (eff.from === 'KUBIYA_CONTEXT') throw unknownContext(eff.name, cfg, 'KUBIYA_CONTEXT names');
  throw new UserError(`${cfg.path}: current-context is "${eff.name}", but there is no context with that name`, {
    hint: `Pick one with: kubiya config use-context NAME${names(cfg)}`,
  });
}

function unknownContext(name: string, cfg: KubiyaConfigFile, prefix = 'no context named'): UserError {
  const lead =
    prefix === 'no context named' ? `no context named "${name}"` : `${prefix} "${name}", which is not a context`;
  const list = cfg.contexts.map((c) => c.name);
  return new UserError(
    `${lead} in ${cfg.path}; ${list.length ? `contexts: ${list.join(', ')}` : 'there are no contexts yet'}`,
    {
      hint: list.length ? undefined : 'Create one with: kubiya config set-context NAME --api-url URL --token KEY',
    },
  );
}

function names(cfg: KubiyaConfigFile): string {
  return cfg.contexts.length ? ` (contexts: ${cfg.contexts.map((c) => c.name).join(', ')})` : '';
}

function emptyDoc(): Document {
  return new Document({ apiVersion: 'v1', kind: 'Config', 'current-context': '', contexts: [], users: [] });
}

function lineOf(doc: Document, lc: LineCounter, p: (string | number)[]) {
  for (let n = p.length; n > 0; n--) {
    const node = doc.getIn(p.slice(0, n), true);
    if (isNode(node) && node.range) {
      const pos = lc.linePos(node.range[0]);
      return { line: pos.line, column: pos.col };
    }
  }
  return undefined;
}
