/**
 * The page's one way to the engine: `api/<path>` (relative, so the dashboard works under any prefix a reverse
 * proxy adds), with the session cookie and, for writes, the CSRF token the login returned.
 */
export interface Session {
  user: string;
  role: 'admin' | 'user';
  user_id?: string;
  csrf_token: string;
}

let csrf = '';

export function setCsrf(token: string): void {
  csrf = token;
}

export class ApiError extends Error {
  constructor(
    message: string,
    readonly status: number,
  ) {
    super(message);
  }
}

/** JSON from `path` (relative to /ui/); a write sends `body` as JSON. Throws ApiError with the API's message. */
export async function api<T = unknown>(path: string, body?: unknown, method?: string): Promise<T> {
  const write = body !== undefined || (method !== undefined && method !== 'GET');
  const res = await fetch(path, {
    method: method ?? (body !== undefined ? 'POST' : 'GET'),
    credentials: 'same-origin',
    headers: write ? { 'content-type': 'application/json', 'x-csrf-token': csrf } : {},
    body: body === undefined ? undefined : JSON.stringify(body),
  });
  const text = await res.text();
  let data: unknown = text;
  try {
    data = text ? JSON.parse(text) : null;
  } catch {
    // not JSON: keep the text
  }
  if (!res.ok) {
    const err = (data as { error?: { message?: string } | string } | null)?.error;
    const message = typeof err === 'string' ? err : (err?.message ?? `${res.status} ${res.statusText}`);
    throw new ApiError(message, res.status);
  }
  return data as T;
}

export const usd = (n: unknown): string => {
  const v = Number(n ?? 0);
  if (!Number.isFinite(v)) return '–';
  return v === 0 ? '$0' : v < 0.01 ? `$${v.toPrecision(2)}` : `$${v.toFixed(2)}`;
};

export const num = (n: unknown): string => (n === null || n === undefined ? '–' : Number(n).toLocaleString('en-US'));

export const when = (iso: unknown): string => {
  if (typeof iso !== 'string' || !iso) return '–';
  const d = new Date(iso);
  return Number.isNaN(d.getTime()) ? iso : d.toLocaleString();
};
