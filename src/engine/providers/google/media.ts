/**
 * Image parts of OpenAI messages as the native APIs want them: base64 bytes plus a MIME type.
 * Shared by the Gemini/Vertex and Bedrock adapters (Bedrock only takes bytes, so URLs are fetched).
 */
import { badRequest } from '../../errors.js';
import type { JsonObject } from '../types.js';

/** An image as base64 data with its MIME type. */
export interface InlineImage {
  mimeType: string;
  /** base64 */
  data: string;
}

const MAX_IMAGE_BYTES = 20 * 1024 * 1024;

/** The URL of an OpenAI `image_url` part (string or `{url}`). */
export function imageUrlOf(part: JsonObject): string | undefined {
  const v = part.image_url;
  const url = typeof v === 'string' ? v : v && typeof v === 'object' ? (v as JsonObject).url : undefined;
  return typeof url === 'string' ? url : undefined;
}

/** `data:image/png;base64,...` -> {mimeType, data}; undefined for anything else. */
export function parseDataUrl(url: string): InlineImage | undefined {
  const m = /^data:([^;,]+)?(;base64)?,(.*)$/s.exec(url);
  if (!m) return undefined;
  const mimeType = m[1] || 'application/octet-stream';
  const data = m[2] ? m[3] : Buffer.from(decodeURIComponent(m[3]), 'utf8').toString('base64');
  return { mimeType, data };
}

/** A MIME type guessed from a URL's extension (for URLs passed by reference). */
export function mimeOfUrl(url: string): string {
  const ext = /\.([a-z0-9]+)(?:[?#].*)?$/i.exec(url)?.[1]?.toLowerCase();
  const known: Record<string, string> = {
    png: 'image/png',
    jpg: 'image/jpeg',
    jpeg: 'image/jpeg',
    gif: 'image/gif',
    webp: 'image/webp',
    pdf: 'application/pdf',
    mp4: 'video/mp4',
    mp3: 'audio/mpeg',
    wav: 'audio/wav',
  };
  return (ext && known[ext]) || 'image/jpeg';
}

/** A data URL decoded, or an http(s) URL downloaded (bounded size, aborted with the request). */
export async function loadImage(url: string, signal: AbortSignal): Promise<InlineImage> {
  const inline = parseDataUrl(url);
  if (inline) return inline;
  if (!/^https?:\/\//i.test(url))
    throw badRequest(
      `image_url: expected a data: URL or an http(s) URL, found ${JSON.stringify(url.slice(0, 60))}`,
      'messages',
    );
  let res: Response;
  try {
    res = await fetch(url, { signal });
  } catch (e) {
    throw badRequest(`image_url: could not download ${url}: ${e instanceof Error ? e.message : String(e)}`, 'messages');
  }
  if (!res.ok) throw badRequest(`image_url: downloading ${url} answered HTTP ${res.status}`, 'messages');
  const buf = Buffer.from(await res.arrayBuffer());
  if (buf.length > MAX_IMAGE_BYTES)
    throw badRequest(`image_url: ${url} is larger than ${MAX_IMAGE_BYTES} bytes`, 'messages');
  const type = res.headers.get('content-type')?.split(';')[0].trim();
  return {
    mimeType: type && type !== 'application/octet-stream' ? type : mimeOfUrl(url),
    data: buf.toString('base64'),
  };
}
