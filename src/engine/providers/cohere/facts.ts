import type { FolderFacts } from '../facts.js';

/** Cohere (`cohere/` and `cohere_chat/`); LiteLLM sends bare `command-*` names to `cohere`. */
export const COHERE = {
  cohere: { topK: true, bareModels: /^command(?:-|$)/ },
  cohere_chat: { topK: true },
} as const satisfies FolderFacts;
