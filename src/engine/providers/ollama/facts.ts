import type { FolderFacts, ProviderFacts } from '../facts.js';

// both ids speak Ollama's native API
const OLLAMA_FACTS = { topK: true } as const satisfies ProviderFacts;

/** Ollama: `ollama/` and `ollama_chat/`. */
export const OLLAMA = { ollama: OLLAMA_FACTS, ollama_chat: OLLAMA_FACTS } as const satisfies FolderFacts;
