export { Miner, type MinerOptions, type ShareResult } from "./miner";
export { StratumClient, parseStratumUrl, type RpcReply, type StratumEndpoint } from "./client";
export { LoadGenerator, percentile, type LoadOptions, type LoadResults } from "./load";
export { WorkUnit } from "./hasher";
export { parseNotify, type MinerJob } from "./job";
