import type { FolderFacts } from '../facts.js';

// Bedrock model ids (`vendor.model[:version]`), with or without a cross-region prefix (`us.anthropic.claude-...`)
const REGIONS = ['us', 'eu', 'apac', 'global', 'us-gov', 'jp', 'au'];
const VENDORS = [
  'anthropic',
  'amazon',
  'meta',
  'cohere',
  'mistral',
  'ai21',
  'stability',
  'deepseek',
  'writer',
  'qwen',
  'twelvelabs',
];
const BEDROCK_ID = new RegExp(`^(?:(?:${REGIONS.join('|')})\\.)?(?:${VENDORS.join('|')})\\.[\\w.-]+(?::\\d+)?$`);

/** AWS Bedrock (Converse API); bare Bedrock model ids resolve here. */
export const BEDROCK = {
  bedrock: {
    topK: true,
    bareModels: BEDROCK_ID,
    params: [
      'aws_access_key_id',
      'aws_secret_access_key',
      'aws_session_token',
      'aws_region_name',
      'aws_profile_name',
      'aws_role_name',
      'aws_session_name',
      'aws_bedrock_runtime_endpoint',
      'aws_web_identity_token',
      'aws_sts_endpoint',
      'aws_external_id',
      'region_name',
    ],
    secretParams: ['aws_access_key_id', 'aws_secret_access_key', 'aws_session_token', 'aws_web_identity_token'],
  },
} as const satisfies FolderFacts;
