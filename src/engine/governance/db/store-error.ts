/**
 * The store cannot be opened, reached or migrated; the message names the database (never its password).
 * Its own module so that `proxy start` can recognise it without loading the drivers.
 */
export class StoreError extends Error {
  override name = 'StoreError';
}
