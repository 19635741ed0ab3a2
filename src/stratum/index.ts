export { StratumServer, type StratumServerOptions } from "./server";
export { DEFAULT_STRATUM_CONFIG, resolveConfig, type StratumConfig, type StratumConfigInput } from "./config";
export { MemoryShareSink } from "./memory-sink";
export { ErrorCode, StratumError, type RejectReason } from "./errors";
export { parseAddress, parseUsername } from "./address";
export type { StratumStats } from "./metrics";
export type { Session } from "./session";
export type { AcceptedShare, FoundBlock, ShareSink } from "./events";
