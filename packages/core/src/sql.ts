/**
 * Quoting for SQL text built in code (DuckDB, standard SQL): every literal and identifier that
 * comes from outside — a file path, a load id, a database alias — goes through these two.
 */

/** A string literal: `'it''s'`. */
export const sqlString = (value: string): string => `'${value.replaceAll("'", "''")}'`;

/** A quoted identifier: `"my ""db"""`. */
export const sqlIdentifier = (name: string): string => `"${name.replaceAll('"', '""')}"`;
