/**
 * multipart/form-data in and out, for `/v1/audio/transcriptions`. Parsing and encoding are undici's (the
 * `Response` and `FormData` of Node's fetch): a maintained multipart implementation that ships with Node,
 * so the engine adds no parser of its own. The body is read once, bounded by max_request_size_mb, before it
 * is handed to it; files stay the `File` objects undici made (never copied into strings).
 */
import type { IncomingMessage } from 'node:http';
import { badRequest } from '../errors.js';
import type { JsonObject } from '../wire.js';
import { readRawBody } from './body.js';

/** Fields a form may repeat (`timestamp_granularities[]=word&timestamp_granularities[]=segment`). */
const LIST_SUFFIX = '[]';

/**
 * Read a multipart (or urlencoded) form into a plain object: text fields as strings, files as `File`s, a field
 * named `x[]` (or given twice) as a list under `x`. 400 when the body is not a form or cannot be parsed.
 */
export async function readForm(req: IncomingMessage, limit: number): Promise<JsonObject> {
  const type = req.headers['content-type'];
  const ct = typeof type === 'string' ? type.toLowerCase() : '';
  const multipart = ct.startsWith('multipart/form-data');
  if (!multipart && !ct.startsWith('application/x-www-form-urlencoded'))
    throw badRequest(
      `Expected a multipart/form-data body (a "file" field and the parameters), got content-type ${
        type === undefined ? '(none)' : JSON.stringify(type)
      }.`,
      null,
      'invalid_content_type',
    );
  if (multipart && !/;\s*boundary=/i.test(ct))
    throw badRequest('The multipart/form-data content-type has no boundary.', null, 'invalid_content_type');
  const bytes = await readRawBody(req, limit);
  let form: FormData;
  try {
    form = await new Response(bytes as unknown as ConstructorParameters<typeof Response>[0], {
      headers: { 'content-type': type as string },
    }).formData();
  } catch (e) {
    throw badRequest(`The form could not be read: ${(e as Error).message}`, null, 'invalid_form');
  }
  const out: JsonObject = {};
  for (const [rawName, value] of form.entries()) {
    const list = rawName.endsWith(LIST_SUFFIX);
    const name = list ? rawName.slice(0, -LIST_SUFFIX.length) : rawName;
    const prev = out[name];
    if (prev === undefined) out[name] = list ? [value] : value;
    else if (Array.isArray(prev)) prev.push(value);
    else out[name] = [prev, value];
  }
  return out;
}

/**
 * A body object back into multipart/form-data for the upstream: `File`/`Blob` values as files, lists as
 * repeated `name[]` fields (OpenAI's convention), objects as JSON, the rest as text. Returns the bytes and
 * the content-type with its boundary.
 */
export async function formBody(body: JsonObject): Promise<{ bytes: Uint8Array; contentType: string }> {
  const form = new FormData();
  for (const [k, v] of Object.entries(body)) {
    if (v === undefined || v === null) continue;
    if (v instanceof Blob) form.append(k, v, v instanceof File ? v.name : 'file');
    else if (Array.isArray(v)) for (const x of v) form.append(`${k}${LIST_SUFFIX}`, text(x));
    else form.append(k, text(v));
  }
  const res = new Response(form);
  const bytes = new Uint8Array(await res.arrayBuffer());
  return { bytes, contentType: res.headers.get('content-type') ?? 'multipart/form-data' };
}

function text(v: unknown): string {
  return typeof v === 'string' ? v : typeof v === 'object' ? JSON.stringify(v) : String(v);
}
