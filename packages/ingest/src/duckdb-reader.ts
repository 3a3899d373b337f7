import type { WarehouseReader } from '@skiff/core';
import { queryWarehouseReadOnly } from './read-only-query.js';

/**
 * The warehouse for ad-hoc queries (`skiff sql`): each query runs on a private read-only copy with
 * external access off and the configuration locked (see `queryWarehouseReadOnly`), so it never
 * blocks a running pipeline, and a query can neither write nor reach other files or settings.
 */
export async function createDuckDbReader(options: { path: string }): Promise<WarehouseReader> {
  return {
    async query(sql: string) {
      return (await queryWarehouseReadOnly(options.path, sql)).rows;
    },
    async close() {},
  };
}
