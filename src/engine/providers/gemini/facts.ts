import type { FolderFacts } from '../facts.js';

/** Google AI Studio's Gemini API (`gemini/`, key auth). */
export const GEMINI = { gemini: { topK: true } } as const satisfies FolderFacts;
