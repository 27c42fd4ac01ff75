import { GatewayError } from '../../errors.js';

// the management API's path prefixes (LiteLLM's): recognised without loading it, to say what turns it on
const MANAGEMENT = /^\/(?:key|user|team|budget|customer|end_user|spend|global)\//;

/** A path of the management API (`/key/generate`, `/team/new`, `/spend/logs`, ...). */
export function looksLikeManagement(path: string): boolean {
  return MANAGEMENT.test(path) && path !== '/spend/calculate';
}

/** Management without a store: virtual keys need a master key (the store is opened only then). */
export function noStore(path: string): GatewayError {
  return new GatewayError(400, {
    message:
      `${path} manages virtual keys, which need a master key: set general_settings.master_key ` +
      '(or LITELLM_MASTER_KEY) and restart; keys and spend are then kept in a local SQLite file, or in ' +
      'Postgres with DATABASE_URL.',
    type: 'no_db_connection',
    code: '400',
    errorClass: 'bad_request',
  });
}
