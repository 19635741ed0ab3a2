/** Messages between the pool process and its Stratum worker processes (cluster.ts, cluster-worker.ts). */
import type { BlockTemplate, SubmitResult } from "../chain/types";
import type { StratumConfigInput } from "./config";
import type { AcceptedShare, FoundBlock } from "./events";
import type { StratumStats } from "./metrics";

export type PrimaryMessage =
  | { t: "init"; index: number; count: number; config: StratumConfigInput; template: BlockTemplate | null; sourceKind: "embedded" | "bitcoind"; logLevel: string }
  | { t: "template"; template: BlockTemplate; newBlock: boolean }
  /** One error text per share of batch `seq` (null: stored). */
  | { t: "stored"; seq: number; errors: (string | null)[] }
  | { t: "blockStored"; id: number; error: string | null }
  | { t: "submitted"; id: number; result: SubmitResult }
  | { t: "close"; timeoutMs: number };

export type WorkerMessage =
  | { t: "ready"; port: number }
  | { t: "failed"; error: string }
  | { t: "shares"; seq: number; shares: AcceptedShare[] }
  | { t: "block"; id: number; block: FoundBlock; share: AcceptedShare }
  | { t: "submit"; id: number; hex: string }
  | { t: "stats"; stats: StratumStats };
