import type { FolderFacts } from '../facts.js';

// the families LiteLLM serves from Vertex AI when the model has no prefix
const FAMILIES = [
  'gemini-',
  'textembedding-gecko',
  'text-multilingual-embedding-',
  'text-embedding-00\\d',
  'chat-bison',
  'text-bison',
  'codechat-bison',
  'code-bison',
];
const VERTEX_BARE = new RegExp(`^(?:${FAMILIES.join('|')})`);

/** Google Vertex AI (Gemini models through a project and location). */
export const VERTEX = {
  vertex_ai: {
    topK: true,
    bareModels: VERTEX_BARE,
    params: ['vertex_project', 'vertex_location', 'vertex_credentials', 'vertex_ai_project', 'vertex_ai_location'],
    secretParams: ['vertex_credentials'],
  },
} as const satisfies FolderFacts;
