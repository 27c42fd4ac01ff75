import type { FolderFacts } from '../facts.js';

/** Hugging Face (the inference router or a TGI endpoint). */
export const HUGGINGFACE = { huggingface: { topK: true } } as const satisfies FolderFacts;
