/** Secret references: `os.environ/VAR` (LiteLLM's form) and `env:VAR` (the gateway docs' form). */
const REF = /^(?:os\.environ\/|env:)([A-Za-z_][A-Za-z0-9_]*)$/;

/** The variable a string refers to, or undefined when it is a plain value. */
export function secretRefName(value: unknown): string | undefined {
  if (typeof value !== 'string') return undefined;
  const m = REF.exec(value.trim());
  return m ? m[1] : undefined;
}

/** Keys whose values are secrets wherever they appear (masked in every output). */
const SECRET_KEY =
  /(api_?key|master_key|secret|secret_key|access_key|access_key_id|private_key|key_data|password|passwd|credentials?|^token|_ad_token|session_token|identity_token|auth_token|access_token|refresh_token|bearer_token|^key)$/i;

/** Whether a key (`aws_secret_access_key`, `client-key-data`, `api_key`, ...) holds a secret; `-` counts as `_`. */
export function isSecretKey(key: string): boolean {
  return SECRET_KEY.test(key.replace(/-/g, '_'));
}

/** Mask a secret for display: keep a short prefix when long enough to help tell keys apart. */
export function maskValue(value: string): string {
  if (secretRefName(value)) return value; // a reference names a variable, not a secret
  if (value.length <= 8) return '****';
  return `${value.slice(0, 3)}****${value.slice(-2)}`;
}

/** A deep copy where every value under a secret-looking key (and every known secret string) is masked. */
export function maskSecrets<T>(value: T, knownSecrets: Iterable<string> = []): T {
  const known = new Set([...knownSecrets].filter((s) => s.length > 0));
  const walk = (v: unknown, key: string): unknown => {
    if (typeof v === 'string') {
      if (isSecretKey(key) || known.has(v)) return maskValue(v);
      let out = v;
      for (const s of known) if (s.length >= 6 && out.includes(s)) out = out.split(s).join('****');
      return out;
    }
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
  const known = secrets.filter((s): s is string => typeof s === 'string' && s.length >= 4);
  const flagKey = (a: string) => /^--?[A-Za-z][\w-]*$/.test(a) && isSecretKey(a.replace(/^-+/, ''));
  return args.map((a, i) => {
    const eq = /^(--?[A-Za-z][\w-]*)=(.*)$/s.exec(a);
    if (eq && flagKey(eq[1]) && eq[2] !== '') return `${eq[1]}=***`;
    if (i > 0 && flagKey(args[i - 1]) && !a.startsWith('-')) return '***';
    return known.reduce((acc, s) => acc.split(s).join('***'), a);
  });
}
