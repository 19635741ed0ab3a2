/**
 * Epochs: the cumulative ledger, the epoch builder, the published epoch file and share log, and
 * the auditor's checks over them.
 */
export * from "./format";
export * from "./sharelog";
export * from "./ledger";
export * from "./builder";
export * from "./verify";
export * from "./audit";
export * from "./digest";
export { loadEpochTree } from "./tree";
export * from "./sharecheck";
