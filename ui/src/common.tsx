import type { ComponentChildren } from 'preact';
import { useCallback, useEffect, useState } from 'preact/hooks';
import { ApiError, api } from './api';

/** Load `path` on mount (and on `reload()`): the data, the error's message, whether it is loading. */
export function useLoad<T>(path: string | null) {
  const [data, setData] = useState<T | undefined>(undefined);
  const [error, setError] = useState<string | undefined>(undefined);
  const [loading, setLoading] = useState(false);
  const [n, setN] = useState(0);
  useEffect(() => {
    if (path === null) return;
    let live = true;
    setLoading(true);
    api<T>(path).then(
      (d) => {
        if (!live) return;
        setData(d);
        setError(undefined);
        setLoading(false);
      },
      (e: unknown) => {
        if (!live) return;
        setError(e instanceof ApiError || e instanceof Error ? e.message : String(e));
        setLoading(false);
      },
    );
    return () => {
      live = false;
    };
  }, [path, n]);
  const reload = useCallback(() => setN((x) => x + 1), []);
  return { data, error, loading, reload };
}

export function ErrorBox({ error }: { error?: string }) {
  if (!error) return null;
  return (
    <p class="error" role="alert">
      {error}
    </p>
  );
}

export function Page({
  title,
  actions,
  children,
}: {
  title: string;
  actions?: ComponentChildren;
  children: ComponentChildren;
}) {
  return (
    <section class="page" aria-labelledby="page-title">
      <header class="page-head">
        <h1 id="page-title">{title}</h1>
        <div class="actions">{actions}</div>
      </header>
      {children}
    </section>
  );
}

/** A table that scrolls sideways on a narrow screen instead of squeezing its columns. */
export function Table({ label, head, children }: { label: string; head: string[]; children: ComponentChildren }) {
  return (
    // biome-ignore lint/a11y/noNoninteractiveTabindex: a region that scrolls must take focus to scroll by keyboard
    <section class="table-wrap" aria-label={label} tabIndex={0}>
      <table>
        <thead>
          <tr>
            {head.map((h) => (
              <th scope="col" key={h}>
                {h}
              </th>
            ))}
          </tr>
        </thead>
        <tbody>{children}</tbody>
      </table>
    </section>
  );
}

/** A form field: label, input, and a hint under it. */
export function Field(props: {
  label: string;
  name: string;
  type?: 'text' | 'password' | 'number' | 'email';
  placeholder?: string;
  hint?: string;
  required?: boolean;
  value?: string;
  autocomplete?: string;
}) {
  const id = `f-${props.name}`;
  return (
    <div class="field">
      <label for={id}>{props.label}</label>
      <input
        id={id}
        name={props.name}
        type={(props.type ?? 'text') as 'text'}
        placeholder={props.placeholder}
        required={props.required}
        value={props.value}
        autocomplete={props.autocomplete ?? 'off'}
        aria-describedby={props.hint ? `${id}-hint` : undefined}
      />
      {props.hint && (
        <small id={`${id}-hint`} class="hint">
          {props.hint}
        </small>
      )}
    </div>
  );
}

/** The form's fields by name (empty ones left out). */
export function formValues(form: HTMLFormElement): Record<string, string> {
  const out: Record<string, string> = {};
  for (const [k, v] of new FormData(form).entries()) if (typeof v === 'string' && v.trim() !== '') out[k] = v.trim();
  return out;
}

/** Horizontal bars: one per item, the value written at its end (readable at 390 px). */
export function Bars({
  label,
  items,
  format,
}: {
  label: string;
  items: [string, number][];
  format: (n: number) => string;
}) {
  if (items.length === 0) return <p class="muted">No data yet.</p>;
  const max = Math.max(...items.map(([, v]) => v), 1e-12);
  const row = 26;
  return (
    <svg
      class="bars"
      role="img"
      aria-label={label}
      viewBox={`0 0 600 ${items.length * row}`}
      preserveAspectRatio="xMinYMin meet"
    >
      {items.map(([k, v], i) => (
        <g key={k} transform={`translate(0 ${i * row})`}>
          <title>{`${k}: ${format(v)}`}</title>
          <text x="0" y="17" class="bar-label">
            {k.length > 28 ? `${k.slice(0, 27)}…` : k}
          </text>
          <rect x="200" y="4" height="18" width={Math.max(1, (v / max) * 300)} class="bar" rx="2" />
          <text x={206 + (v / max) * 300} y="17" class="bar-value">
            {format(v)}
          </text>
        </g>
      ))}
    </svg>
  );
}
