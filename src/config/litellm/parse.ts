import fs from 'node:fs';
import path from 'node:path';
import { type Document, isNode, LineCounter, parseDocument } from 'yaml';
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
    return { value: structuredClone(source.value) };
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
    try {
      return { value: JSON.parse(trimmed) };
    } catch (e) {
      // a YAML file may hold flow-style YAML that is not strict JSON; inline text must be JSON
      if (!yamlFirst) throw jsonError(text, label, e as Error);
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
  return { value: doc.toJS({ maxAliasCount: 1000 }), lineOf: (p) => yamlLineOf(doc, lineCounter, p) };
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
