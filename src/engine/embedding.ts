/** An embedding as the client asked for it: floats, or base64 of little-endian float32 (the openai SDK's default). */
export function encodeEmbedding(vec: number[], format: unknown): number[] | string {
  if (format !== 'base64') return vec;
  const f32 = new Float32Array(vec);
  return Buffer.from(f32.buffer, f32.byteOffset, f32.byteLength).toString('base64');
}

/** The OpenAI list-of-embeddings shape. */
export function embeddingList(vectors: number[][], model: string, format: unknown, promptTokens: number) {
  return {
    object: 'list',
    data: vectors.map((v, index) => ({ object: 'embedding', index, embedding: encodeEmbedding(v, format) })),
    model,
    usage: { prompt_tokens: promptTokens, total_tokens: promptTokens },
  };
}
