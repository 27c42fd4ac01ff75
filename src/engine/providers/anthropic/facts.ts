import type { FolderFacts } from '../facts.js';

/** Anthropic's Messages API; LiteLLM sends bare `claude-*` names here. */
export const ANTHROPIC = {
  anthropic: { topK: true, bareModels: /^claude-/, params: ['anthropic_version'] },
} as const satisfies FolderFacts;
