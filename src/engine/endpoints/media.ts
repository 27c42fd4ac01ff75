/**
 * POST /v1/rerank (and /rerank, /v2/rerank), /v1/moderations, /v1/images/generations, /v1/audio/transcriptions
 * (multipart in) and /v1/audio/speech (audio streamed out). Like chat: the body is read once and the few
 * fields routing needs are checked by hand; the request is admitted, dispatched (retries, fallbacks, cooldowns)
 * and answered by the writer, which settles its event. The adapters translate to each provider's format.
 */
import type { IncomingMessage } from 'node:http';
import type { EngineContext } from '../context.js';
import { badRequest } from '../errors.js';
import { readJsonBody } from '../http/body.js';
import { applyControlHeaders } from '../http/litellm-headers.js';
import { readForm } from '../http/multipart.js';
import type { ResponseWriter } from '../http/response-writer.js';
import { speechContentType } from '../media/units.js';
import { dispatch } from '../router/dispatch.js';
import type { JsonObject, MediaKind } from '../wire.js';

const TRANSCRIPTION_FORMATS = ['json', 'text', 'srt', 'verbose_json', 'vtt'];
const SPEECH_FORMATS = ['mp3', 'opus', 'aac', 'flac', 'wav', 'pcm'];
const IMAGE_FORMATS = ['url', 'b64_json'];

/** Serve one media request of `kind`; `pathModel` is the model an Azure-style path names (it wins). */
export async function handleMedia(
  kind: MediaKind,
  ctx: EngineContext,
  req: IncomingMessage,
  w: ResponseWriter,
  pathModel?: string,
): Promise<void> {
  const body = (w.body =
    kind === 'audio_transcription'
      ? await readForm(req, ctx.maxRequestBytes)
      : await readJsonBody(req, ctx.maxRequestBytes));
  if (pathModel !== undefined) body.model = pathModel;
  const model = body.model;
  if (typeof model !== 'string' || model === '') {
    const missing = model === undefined || model === null || model === '';
    throw badRequest(
      missing ? 'Missing required parameter: "model".' : 'Invalid "model": expected a model name (a string).',
      'model',
      missing ? 'missing_required_parameter' : 'invalid_type',
    );
  }
  check(kind, body);
  applyControlHeaders(body, req.headers);
  const admitted = w.admit(model, body, req.headers);
  if (admitted) await admitted;
  const stream = kind === 'audio_speech';
  const outcome = await dispatch(ctx, w.route(kind, body, model, stream));
  if (outcome.type === 'stream')
    return w.sendBytes(outcome, speechContentType(body, outcome.headers?.['content-type']));
  if (outcome.contentType !== undefined && outcome.raw) return w.sendAnswer(outcome, outcome.raw, outcome.contentType);
  return w.sendAnswer(outcome, outcome.raw ?? JSON.stringify(outcome.response));
}

/** The fields each endpoint cannot do without, checked before anything is sent anywhere. */
function check(kind: MediaKind, b: JsonObject): void {
  switch (kind) {
    case 'rerank': {
      if (typeof b.query !== 'string' || b.query === '')
        throw required('query', 'the text to rank the documents against (a string)', b.query);
      const docs = b.documents;
      if (!Array.isArray(docs) || docs.length === 0)
        throw required('documents', 'a non-empty list of documents (strings or objects)', docs);
      if (!docs.every((d) => typeof d === 'string' || (d !== null && typeof d === 'object' && !Array.isArray(d))))
        throw badRequest('Invalid "documents": each document is a string or an object.', 'documents', 'invalid_type');
      if (b.top_n !== undefined && b.top_n !== null && !(Number.isInteger(b.top_n) && (b.top_n as number) > 0))
        throw badRequest('Invalid "top_n": expected a positive integer.', 'top_n', 'invalid_value');
      return;
    }
    case 'moderation':
      if (typeof b.input !== 'string' && !Array.isArray(b.input))
        throw required('input', 'the text to classify (a string or a list)', b.input);
      return;
    case 'image_generation':
      if (typeof b.prompt !== 'string' || b.prompt === '')
        throw required('prompt', 'a description of the image (a string)', b.prompt);
      oneOf(b, 'response_format', IMAGE_FORMATS);
      if (
        b.n !== undefined &&
        b.n !== null &&
        !(Number.isInteger(b.n) && (b.n as number) >= 1 && (b.n as number) <= 10)
      )
        throw badRequest('Invalid "n": expected an integer from 1 to 10.', 'n', 'invalid_value');
      return;
    case 'audio_transcription':
      if (!(b.file instanceof Blob))
        throw badRequest(
          'Missing required parameter: "file" (the audio, sent as a file field of a multipart/form-data body).',
          'file',
          'missing_required_parameter',
        );
      oneOf(b, 'response_format', TRANSCRIPTION_FORMATS);
      // a form's booleans are text: "true" asks for an SSE transcription, which this endpoint does not relay
      if (b.stream === 'true' || b.stream === true)
        throw badRequest(
          'Streamed transcriptions ("stream": true) are not supported: leave out "stream" for the whole text.',
          'stream',
          'unsupported_parameter',
        );
      return;
    case 'audio_speech':
      if (typeof b.input !== 'string' || b.input === '')
        throw required('input', 'the text to speak (a string)', b.input);
      oneOf(b, 'response_format', SPEECH_FORMATS);
      return;
  }
}

function required(param: string, what: string, v: unknown) {
  const missing = v === undefined || v === null || v === '';
  return badRequest(
    missing ? `Missing required parameter: "${param}" (${what}).` : `Invalid "${param}": expected ${what}.`,
    param,
    missing ? 'missing_required_parameter' : 'invalid_type',
  );
}

function oneOf(b: JsonObject, param: string, allowed: string[]): void {
  const v = b[param];
  if (v === undefined || v === null || (typeof v === 'string' && allowed.includes(v))) return;
  throw badRequest(
    `Invalid "${param}": expected one of ${allowed.join(', ')}, got ${JSON.stringify(v)}.`,
    param,
    'invalid_value',
  );
}
