import type { FolderFacts, ProviderFacts } from '../facts.js';

// Entra ID credentials both Azure flavours accept next to api_key
const AZURE_FACTS = {
  params: ['azure_ad_token', 'tenant_id', 'client_id', 'client_secret'],
  secretParams: ['azure_ad_token', 'client_secret'],
} as const satisfies ProviderFacts;

/** Azure OpenAI (`azure/`, deployment in the path) and Azure AI Foundry (`azure_ai/`). */
export const AZURE = { azure: AZURE_FACTS, azure_ai: AZURE_FACTS } as const satisfies FolderFacts;
