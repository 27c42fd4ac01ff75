/**
 * Secrets in one place: what is one (a reference `os.environ/VAR` / `env:VAR`, a value under a
 * secret-looking key), resolving references in a config tree, and the one masker every output uses
 * (logs, error messages, client bodies, CLI output).
 */
import { ConfigError } from '../../errors.js';

/** Secret references: `os.environ/VAR` (LiteLLM's form) and `env:VAR` (the gateway docs' form). */
const REF = /^(?:os\.environ\/|env:)([A-Za-z_][A-Za-z0-9_]*)$/;

/** The variable a string refers to, or undefined when it is a plain value. */
export function secretRefName(value: unknown): string | undefined {
  if (typeof value !== 'string') return undefined;
  const m = REF.exec(value.trim());
  return m ? m[1] : undefined;
}

/** Keys whose values are secrets wherever they appear (masked in every output). */
const SECRET_KEY = new RegExp(
  '(api_?key|master_key|secret|secret_key|access_key|access_key_id|private_key|key_data|password|passwd|' +
    'credentials?|^token|_ad_token|session_token|identity_token|auth_token|access_token|refresh_token|' +
    'bearer_token|^key)$',
  'i',
);

/** Whether a key (`aws_secret_access_key`, `client-key-data`, `api_key`, ...) holds a secret; `-` counts as `_`. */
export function isSecretKey(key: string): boolean {
  return SECRET_KEY.test(key.replace(/-/g, '_'));
}

/**
 * Environment variables whose values are secrets by their name (`OPENAI_API_KEY`, `AWS_SECRET_ACCESS_KEY`,
 * `HF_TOKEN`, `DB_PASSWORD`); a `*_PUBLIC_KEY` (Langfuse's) is not one.
 */
export function isSecretEnvName(name: string): boolean {
  return /(?:KEY|SECRET|TOKEN|PASSWORD|CREDENTIALS?)$/i.test(name) && !/PUBLIC/i.test(name);
}

/** `scheme://user:password@host...`: the password part of a URL's userinfo. */
const URL_PASSWORD = /^[a-z][a-z0-9+.-]*:\/\/[^/?#@:\s]*:([^/?#@\s]+)@/i;

/** The password inside a URL (`postgres://app:pw@db/x` -> `pw`), which is a secret wherever the URL is shown. */
export function urlPassword(value: string): string | undefined {
  const m = URL_PASSWORD.exec(value);
  if (!m) return undefined;
  try {
    return decodeURIComponent(m[1]);
  } catch {
    return m[1];
  }
}

/**
 * Whether the value a reference resolves to is a secret: it is when the field holds one (`api_key`,
 * `aws_secret_access_key`, a header value) or the variable is named like one (`os.environ/MY_TOKEN`).
 * `api_base: os.environ/AZURE_API_BASE` is a reference too, but to an address: shown as it is.
 */
function secretAt(at: string, variable: string): boolean {
  const field = at.slice(at.lastIndexOf('.') + 1).replace(/\[\d+\]$/, '');
  return isSecretKey(field) || /(?:^|\.)(?:extra_)?headers\./.test(at) || isSecretEnvName(variable);
}

/** What reference resolution needs and collects. */
export interface RefContext {
  env: NodeJS.ProcessEnv;
  warnings: { path: string; message: string }[];
  /**
   * secrets to mask: literal values under a secret-looking key, the values references resolve to in secret
   * positions (`secretAt`), and the passwords inside URLs
   */
  secrets: Set<string>;
  /** the config's label, for errors */
  label: string;
  /** key path -> variable name, for references whose variable is not set */
  unset: Map<string, string>;
}

/**
 * Replace every `os.environ/VAR` / `env:VAR` string in a config tree with its value; unset ones are
 * dropped, warned about and remembered (an unset master key throws: never start an open proxy).
 */
export function resolveSecretRefs(v: unknown, at: string, ctx: RefContext): unknown {
  if (typeof v === 'string') {
    const ref = secretRefName(v);
    if (!ref) {
      const pw = urlPassword(v);
      if (pw) ctx.secrets.add(pw);
      return v;
    }
    const val = ctx.env[ref];
    if (val === undefined || val === '') {
      if (at === 'general_settings.master_key') {
        const why = `refers to the environment variable ${ref}, which is not set (refusing to start an open proxy)`;
        throw new ConfigError(ctx.label, at, why);
      }
      ctx.warnings.push({ path: at, message: `refers to the environment variable ${ref}, which is not set` });
      ctx.unset.set(at, ref);
      return undefined;
    }
    if (secretAt(at, ref)) ctx.secrets.add(val);
    const pw = urlPassword(val);
    if (pw) ctx.secrets.add(pw);
    return val;
  }
  if (Array.isArray(v)) return v.map((x, i) => resolveSecretRefs(x, `${at}[${i}]`, ctx));
  if (typeof v === 'object' && v !== null) {
    const out: Record<string, unknown> = {};
    for (const [k, x] of Object.entries(v)) {
      const r = resolveSecretRefs(x, at ? `${at}.${k}` : k, ctx);
      if (r !== undefined) out[k] = r;
      if (typeof x === 'string' && !secretRefName(x) && isSecretKey(k) && x.length > 0) ctx.secrets.add(x);
    }
    return out;
  }
  return v;
}

/** What stands in for a masked secret. */
export const MASK = '****';
/** Known values shorter than this are not searched for: masking "abc" everywhere would garble output. */
const MIN_SECRET = 4;
/** `maskValue` shows 3 + 2 characters of a long key; an echo that shows more than that is masked. */
const DISPLAY_REVEAL = 5;
/** A text that ends in this many leading characters of a secret was cut off mid-secret. */
const MIN_CUT_PREFIX = 8;
/** Runs that providers put in the middle of a key they echo: `sk-ab***yz`, `sk-ab...yz`, `sk-ab…yz`. */
const ECHO_RUN = /\*{3,}|•{3,}|\.{3,}|…+/g;

/** [start, end) of a piece of text to mask. */
type Span = [number, number];

/** Masks every known secret in a text. */
export type Masker = (text: string) => string;

/**
 * The one masker. Built once from the known secrets (4+ characters), it hides each secret in every encoding an
 * upstream may echo it in (`encodings`: as written, JSON-escaped in its variants, URL-encoded), and partial
 * echoes of any of those: a provider's `sk-abc1****wxyz` showing more than `maskValue` would, or a text cut off
 * after 8+ leading characters.
 * Overlapping matches (of one or several secrets) become one `replacement`.
 */
export function secretMasker(secrets: Iterable<string | undefined>, replacement = MASK): Masker {
  const known = [...secrets].filter((s): s is string => typeof s === 'string' && s.length >= MIN_SECRET);
  const plain = [...new Set(known)];
  if (plain.length === 0) return (text) => text;
  // every form a secret may be echoed in counts as the secret (a partial echo of any form too)
  const forms = [...new Set(plain.flatMap(encodings))];
  const heads = forms.map((s) => s.slice(0, MIN_CUT_PREFIX));
  return (text) => {
    const spans: Span[] = [];
    for (const n of forms) {
      for (let i = text.indexOf(n); i !== -1; i = text.indexOf(n, i + 1)) spans.push([i, i + n.length]);
    }
    echoSpans(text, forms, heads, spans);
    return spans.length === 0 ? text : cover(text, spans, replacement);
  };
}

/**
 * A secret as written and as upstreams echo it: inside JSON (JSON.stringify's escapes; also `\/` as Java and
 * PHP write it, and non-ASCII as `\uXXXX` as Python's json.dumps does, either case of hex), inside a JSON string
 * inside JSON (a body quoted in an error message), and URL-encoded (a query string or form body).
 */
function encodings(secret: string): string[] {
  const json = JSON.stringify(secret).slice(1, -1);
  const ascii = (hex: (h: string) => string) =>
    json.replace(/[\u0080-\uffff]/g, (c) => `\\u${hex(c.charCodeAt(0).toString(16).padStart(4, '0'))}`);
  const jsons = [json, ascii((h) => h), ascii((h) => h.toUpperCase())];
  for (const j of [...jsons]) if (j.includes('/')) jsons.push(j.replaceAll('/', '\\/'));
  const url = encodeURIComponent(secret);
  const out = [secret, ...jsons, ...jsons.map((j) => JSON.stringify(j).slice(1, -1)), url];
  if (/%[0-9A-F]{2}/.test(url)) out.push(url.replace(/%[0-9A-F]{2}/g, (e) => e.toLowerCase()));
  return [...new Set(out)];
}

const cache = new WeakMap<readonly (string | undefined)[], Masker>();

/** `text` with every known secret masked (`secretMasker`, cached per array: error paths pass the same one). */
export function maskText(text: string, secrets: readonly (string | undefined)[]): string {
  let mask = cache.get(secrets);
  if (!mask) cache.set(secrets, (mask = secretMasker(secrets)));
  return mask(text);
}

/** Spans of `text` that echo part of a secret: prefix + run + suffix, or a cut-off prefix (`heads`: their starts). */
function echoSpans(text: string, secrets: readonly string[], heads: readonly string[], spans: Span[]): void {
  ECHO_RUN.lastIndex = 0;
  for (let m = ECHO_RUN.exec(text); m; m = ECHO_RUN.exec(text)) {
    const start = m.index;
    const end = start + m[0].length;
    for (const secret of secrets) {
      const before = sharedPrefixBefore(text, start, secret, secret[0]);
      const after = sharedSuffixAfter(text, end, secret);
      if (before + after > DISPLAY_REVEAL) spans.push([start - before, end + after]);
    }
  }
  secrets.forEach((secret, i) => {
    const cut = sharedPrefixBefore(text, text.length, secret, heads[i]);
    if (cut > 0) spans.push([text.length - cut, text.length]);
  });
}

/**
 * The length of the longest proper prefix of `secret`, starting with `head` (its first characters),
 * that `text` has just before `at`; candidates start where `head` stands, and the leftmost that fits is the longest.
 */
function sharedPrefixBefore(text: string, at: number, secret: string, head: string): number {
  const from = Math.max(0, at - secret.length + 1);
  for (let p = text.indexOf(head, from); p !== -1 && at - p >= head.length; p = text.indexOf(head, p + 1)) {
    if (secret.startsWith(text.slice(p, at))) return at - p;
  }
  return 0;
}

/** The length of the longest proper suffix of `secret` that `text` has just after `at`. */
function sharedSuffixAfter(text: string, at: number, secret: string): number {
  const last = secret[secret.length - 1];
  const next = (q: number) => (q > 0 ? text.lastIndexOf(last, q - 1) : -1);
  for (let q = text.lastIndexOf(last, at + secret.length - 2); q >= at; q = next(q)) {
    if (secret.endsWith(text.slice(at, q + 1))) return q + 1 - at;
  }
  return 0;
}

/** Replace the union of `spans` (overlapping or touching ones merged) with one `replacement` each. */
function cover(text: string, spans: Span[], replacement: string): string {
  spans.sort((a, b) => a[0] - b[0]);
  let out = '';
  let pos = 0;
  let [from, to] = spans[0];
  for (const [s, e] of spans) {
    if (s <= to) to = Math.max(to, e);
    else {
      out += text.slice(pos, from) + replacement;
      pos = to;
      [from, to] = [s, e];
    }
  }
  return out + text.slice(pos, from) + replacement + text.slice(to);
}

/** Mask a secret for display: keep a short prefix when long enough to help tell keys apart. */
export function maskValue(value: string): string {
  if (secretRefName(value)) return value; // a reference names a variable, not a secret
  if (value.length <= 8) return MASK;
  return `${value.slice(0, 3)}${MASK}${value.slice(-2)}`;
}

/**
 * A deep copy where every value under a secret-looking key (or equal to a known secret) shows as
 * `maskValue`, and known secrets inside other strings are masked.
 */
export function maskSecrets<T>(value: T, knownSecrets: Iterable<string> = []): T {
  const known = new Set([...knownSecrets].filter((s) => s.length > 0));
  const mask = secretMasker(known);
  const walk = (v: unknown, key: string): unknown => {
    if (typeof v === 'string') return isSecretKey(key) || known.has(v) ? maskValue(v) : mask(v);
    if (Array.isArray(v)) return v.map((x) => walk(x, key));
    if (v && typeof v === 'object') {
      const o: Record<string, unknown> = {};
      for (const [k, x] of Object.entries(v)) o[k] = walk(x, k);
      return o;
    }
    return v;
  };
  return walk(value, '') as T;
}

/**
 * A command line fit to show (pid file, logs, dry-run): every known secret becomes `***`, and so
 * does the value of a secret-looking flag (`--api-key X`, `--token=X`, `--password X`).
 */
export function maskCommandLine(args: string[], secrets: (string | undefined)[]): string[] {
  const mask = secretMasker(secrets, '***');
  const flagKey = (a: string) => /^--?[A-Za-z][\w-]*$/.test(a) && isSecretKey(a.replace(/^-+/, ''));
  return args.map((a, i) => {
    const eq = /^(--?[A-Za-z][\w-]*)=(.*)$/s.exec(a);
    if (eq && flagKey(eq[1]) && eq[2] !== '') return `${eq[1]}=***`;
    if (i > 0 && flagKey(args[i - 1]) && !a.startsWith('-')) return '***';
    return mask(a);
  });
}
