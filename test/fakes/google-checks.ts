/** Contract-suite assertions shared by Gemini and Vertex AI: the same generateContent body, different URL and auth. */
import { expect } from 'vitest';
import { CONTRACT_INPUTS as I, type RecordedCall } from '../contract/harness.js';

/** Assertions shared by the Gemini and Vertex contract files (same wire body, different URL/auth). */
export function googleChecks(prefix: string, checkAuth: (call: RecordedCall) => void) {
  const common = (call: RecordedCall, method: string) => {
    expect(call.path).toBe(`${prefix}/gemini-2.0-flash:${method}`);
    checkAuth(call);
  };
  const decl = { name: I.tool.name, description: I.tool.description, parameters: I.tool.parameters };
  return {
    plain(call: RecordedCall) {
      common(call, 'generateContent');
      expect(call.body).toEqual({
        contents: [{ role: 'user', parts: [{ text: I.user }] }],
        systemInstruction: { parts: [{ text: I.system }] },
        generationConfig: {
          temperature: I.temperature,
          topP: I.top_p,
          maxOutputTokens: I.max_tokens,
          stopSequences: I.stop,
        },
      });
    },
    stream(call: RecordedCall) {
      common(call, 'streamGenerateContent?alt=sse');
      expect(call.body.contents).toEqual([{ role: 'user', parts: [{ text: I.user }] }]);
    },
    tools(call: RecordedCall) {
      common(call, 'generateContent');
      expect(call.body.tools).toEqual([{ functionDeclarations: [decl] }]);
      expect(call.body.toolConfig).toEqual({ functionCallingConfig: { mode: 'AUTO' } });
    },
    toolResult(call: RecordedCall) {
      common(call, 'generateContent');
      expect(call.body.contents).toEqual([
        { role: 'user', parts: [{ text: 'Weather in Paris?' }] },
        { role: 'model', parts: [{ functionCall: { name: I.tool.name, args: I.toolArgs } }] },
        {
          role: 'user',
          parts: [{ functionResponse: { name: I.tool.name, response: { content: JSON.parse(I.toolResult) } } }],
        },
      ]);
    },
    imageDataUrl(call: RecordedCall) {
      common(call, 'generateContent');
      expect(call.body.contents[0].parts).toEqual([
        { text: 'What is this?' },
        { inlineData: { mimeType: 'image/png', data: I.pngBase64 } },
      ]);
    },
    imageHttpsUrl(call: RecordedCall) {
      common(call, 'generateContent');
      expect(call.body.contents[0].parts[1]).toEqual({ fileData: { mimeType: 'image/png', fileUri: I.httpsUrl } });
    },
  };
}
