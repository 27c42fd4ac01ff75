import fs from 'node:fs';
import path from 'node:path';
import { type Document, isNode, LineCounter, parseDocument, visit } from 'yaml';
import { ConfigError } from '../../errors.js';
import { expandHome } from '../../util/paths.js';

/** Where a config came from. Every form goes through the same loader, so they load identically. */
export type ConfigSource =
  | { kind: 'file'; path: string; label?: string }
  | { kind: 'text'; text: string; label: string }
  | { kind: 'object'; value: unknown; label: string };

/** A parsed config document, with a way back from a key path to its line (YAML only). */
export interface Parsed {
  value: unknown;
  lineOf?: (keyPath: (string | number)[]) => { line: number; column: number } | undefined;
}

/** The label used in messages: the file path as given, or the source's label. */
export function sourceLabel(source: ConfigSource): string {
  return source.kind === 'file' ? (source.label ?? source.path) : source.label;
}

/** Read and parse any source into plain data; syntax errors name the source, line and column. */
export function parseSource(source: ConfigSource): Parsed {
  const label = sourceLabel(source);
  if (source.kind === 'object') {
    if (typeof source.value === 'string') return parseText(source.value, label, false);
    const value = structuredClone(source.value);
    checkShape(value, label);
    return { value };
  }
  if (source.kind === 'text') return parseText(source.text, label, false);
  const file = path.resolve(expandHome(source.path));
  let text: string;
  try {
    text = fs.readFileSync(file, 'utf8');
  } catch (e) {
    const code = (e as NodeJS.ErrnoException).code;
    const why =
      code === 'ENOENT'
        ? 'no such file'
        : code === 'EACCES'
          ? 'permission denied'
          : code === 'EISDIR'
            ? 'is a directory, not a file'
            : String((e as Error).message);
    throw new ConfigError(label, '', `cannot read the config file: ${why}`);
  }
  return parseText(text, label, !file.toLowerCase().endsWith('.json'));
}

/**
 * Parse JSON or YAML text. JSON is tried first when the text looks like JSON (or the source is not
 * a YAML file); YAML is read as 1.1 like LiteLLM's PyYAML, except that dates stay strings
 * (`api_version: 2024-02-01` must not become a Date).
 */
export function parseText(text: string, label: string, yamlFirst: boolean): Parsed {
  const trimmed = text.trim();
  if (trimmed === '') return { value: undefined };
  if (trimmed.startsWith('{') || trimmed.startsWith('[')) {
    let value: unknown;
    let parsed = false;
    try {
      value = JSON.parse(trimmed);
      parsed = true;
    } catch (e) {
      // a YAML file may hold flow-style YAML that is not strict JSON; inline text must be JSON
      if (!yamlFirst) throw jsonError(text, label, e as Error);
    }
    if (parsed) {
      checkShape(value, label);
      return { value };
    }
  }
  const lineCounter = new LineCounter();
  const doc = parseDocument(text, {
    lineCounter,
    uniqueKeys: true,
    prettyErrors: false,
    version: '1.1',
    customTags: (tags) => tags.filter((t) => (t as { tag?: string }).tag !== 'tag:yaml.org,2002:timestamp'),
  });
  if (doc.errors.length > 0) {
    const err = doc.errors[0];
    const pos = lineCounter.linePos(err.pos[0]);
    throw new ConfigError(label, '', `YAML syntax error: ${err.message.split('\n')[0]}`, {
      line: pos.line,
      column: pos.col,
    });
  }
  const lineOf = (p: (string | number)[]) => yamlLineOf(doc, lineCounter, p);
  let value: unknown;
  try {
    value = doc.toJS({ maxAliasCount: 1000 });
  } catch (e) {
    // the yaml library refuses alias bombs (aliases expanding to millions of nodes) while building the data
    const at = firstAlias(doc, lineCounter);
    throw new ConfigError(label, '', `YAML aliases expand too far: ${(e as Error).message}`, at);
  }
  checkShape(value, label, lineOf);
  return { value, lineOf };
}

/** The deepest a config may nest (real ones stay under 10); deeper input is refused before anything walks it. */
export const MAX_CONFIG_DEPTH = 64;

/**
 * Refuse data no config has: nesting deeper than MAX_CONFIG_DEPTH, or a cycle (a YAML alias inside its own
 * anchor), each of which would overflow the stack of whatever walks the config next. Names the key path.
 */
export function checkShape(value: unknown, label: string, lineOf?: Parsed['lineOf']): void {
  const ancestors = new Set<object>();
  const walk = (v: unknown, path: (string | number)[]): void => {
    if (v === null || typeof v !== 'object') return;
    const where = () => lineOf?.(path) ?? {};
    if (ancestors.has(v))
      throw new ConfigError(label, keyPathText(path), 'refers to itself (an alias inside its own anchor)', where());
    if (path.length >= MAX_CONFIG_DEPTH)
      throw new ConfigError(label, keyPathText(path), `nested deeper than ${MAX_CONFIG_DEPTH} levels`, where());
    ancestors.add(v);
    if (Array.isArray(v)) for (let i = 0; i < v.length; i++) walk(v[i], [...path, i]);
    else for (const [k, x] of Object.entries(v)) walk(x, [...path, k]);
    ancestors.delete(v);
  };
  walk(value, []);
}

function keyPathText(full: (string | number)[]): string {
  // a path 64 levels deep says no more than its first steps do
  const path = full.length > 8 ? full.slice(0, 8) : full;
  const text = path.map((p, i) => (typeof p === 'number' ? `[${p}]` : i === 0 ? p : `.${p}`)).join('');
  return full.length > 8 ? `${text}...` : text;
}

/** Line and column of the document's first alias (where an alias bomb starts). */
function firstAlias(doc: Document, lc: LineCounter): { line?: number; column?: number } {
  let at: { line?: number; column?: number } = {};
  visit(doc, {
    Alias(_, node) {
      if (node.range) {
        const pos = lc.linePos(node.range[0]);
        at = { line: pos.line, column: pos.col };
      }
      return visit.BREAK;
    },
  });
  return at;
}

/**
 * A JSON syntax error with line and column: from V8's "position N" when given,
 * else from a YAML parse of the same text.
 */
function jsonError(text: string, label: string, e: Error): ConfigError {
  const msg = e.message.split('\n')[0].replace(/, ".*$/s, '');
  const m = /position (\d+)/.exec(e.message);
  let pos: { line: number; column: number } | undefined;
  const trimmedStart = text.length - text.trimStart().length;
  if (m) pos = lineCol(text, trimmedStart + Number(m[1]));
  else {
    const lc = new LineCounter();
    const doc = parseDocument(text, { lineCounter: lc, prettyErrors: false });
    if (doc.errors.length > 0) pos = lineCol(text, doc.errors[0].pos[0]);
  }
  return new ConfigError(label, '', `JSON syntax error: ${msg.replace(/ in JSON at position \d+.*$/, '')}`, pos ?? {});
}

function lineCol(text: string, offset: number): { line: number; column: number } {
  const upto = text.slice(0, offset);
  return { line: upto.split('\n').length, column: offset - upto.lastIndexOf('\n') };
}

function yamlLineOf(doc: Document, lc: LineCounter, keyPath: (string | number)[]) {
  for (let n = keyPath.length; n > 0; n--) {
    const node = doc.getIn(keyPath.slice(0, n), true);
    if (isNode(node) && node.range) {
      const pos = lc.linePos(node.range[0]);
      return { line: pos.line, column: pos.col };
    }
  }
  return undefined;
}
