/**
 * The usage tap of pass-through calls on Bedrock InvokeModel answers that carry no Anthropic usage (a model other
 * than Claude): the counts come from the `x-amzn-bedrock-*-token-count` headers of a whole answer, or from the
 * `amazon-bedrock-invocationMetrics` of a stream's last chunk (AWS event-stream framing, as Bedrock sends it),
 * with cache reads and writes apart from the input as Converse counts them.
 */
import { EventStreamCodec } from '@smithy/eventstream-codec';
import { fromUtf8, toUtf8 } from '@smithy/util-utf8';
import { beforeAll, describe, expect, it } from 'vitest';
import { loadMeterCodecs, UsageTap } from '../../src/engine/passthrough/meter.js';

beforeAll(() => loadMeterCodecs());

describe('Bedrock InvokeModel usage without an Anthropic usage block', () => {
  it('a whole answer: the token-count headers', () => {
    const headers = { 'x-amzn-bedrock-input-token-count': '12', 'x-amzn-bedrock-output-token-count': '5' };
    const tap = new UsageTap('invoke', 'application/json', false, headers);
    tap.push(Buffer.from('{"results":[{"outputText":"hi","tokenCount":5}]}'));
    tap.end();
    expect(tap.usage).toMatchObject({ prompt: 12, completion: 5, total: 17, cached: 0, cacheCreation: 0 });
  });

  it("a stream: the last chunk's invocation metrics, cache reads and writes added to the prompt", () => {
    const codec = new EventStreamCodec(toUtf8, fromUtf8);
    const chunk = (inner: unknown) =>
      Buffer.from(
        codec.encode({
          headers: {
            ':event-type': { type: 'string', value: 'chunk' },
            ':content-type': { type: 'string', value: 'application/json' },
            ':message-type': { type: 'string', value: 'event' },
          },
          body: fromUtf8(JSON.stringify({ bytes: Buffer.from(JSON.stringify(inner)).toString('base64') })),
        }),
      );
    const tap = new UsageTap('invoke', 'application/vnd.amazon.eventstream', false);
    tap.push(chunk({ outputText: 'hi', index: 0 }));
    const metrics = {
      inputTokenCount: 10,
      outputTokenCount: 4,
      cacheReadInputTokenCount: 30,
      cacheWriteInputTokenCount: 6,
    };
    const last = chunk({ outputText: '', 'amazon-bedrock-invocationMetrics': metrics });
    tap.push(last.subarray(0, 7)); // a frame cut across network chunks
    tap.push(last.subarray(7));
    tap.end();
    expect(tap.usage).toMatchObject({ prompt: 46, completion: 4, cached: 30, cacheCreation: 6 });
  });
});
