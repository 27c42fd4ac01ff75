/**
 * LiteLLM providers the engine has no adapter for yet: a model using one gets "not supported yet"
 * rather than "unknown provider". Serving one means a folder and a registry line, and removing it here.
 */
export const OTHER_LITELLM_PROVIDERS: ReadonlySet<string> = new Set([
  'replicate', 'sagemaker', 'sagemaker_chat', 'watsonx', 'ai21', 'ai21_chat', 'nlp_cloud', 'aleph_alpha', 'baseten',
  'cloudflare', 'databricks', 'predibase', 'friendliai', 'triton', 'clarifai', 'nvidia_nim', 'cerebras', 'sambanova',
  'volcengine', 'github', 'codestral', 'text-completion-openai', 'text-completion-codestral', 'voyage', 'jina_ai',
  'infinity', 'openai_like', 'custom_openai', 'custom', 'litellm_proxy', 'dashscope', 'moonshot', 'novita', 'nebius',
  'hyperbolic', 'featherless_ai', 'llamafile', 'datarobot', 'snowflake', 'deepinfra', 'anyscale', 'vertex_ai_beta',
  'palm', 'petals', 'vllm', 'azure_text', 'bedrock_converse', 'watsonx_text', 'empower', 'galadriel', 'lambda_ai',
  'nscale', 'oci', 'gradient_ai', 'heroku', 'v0', 'morph', 'xinference', 'wandb', 'ovhcloud', 'elevenlabs',
  'assemblyai',
]);
