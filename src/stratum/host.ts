import type { ShareHasher } from "./sharehash";
import type { Logger } from "pino";
import type { HeaderHashSet } from "../pow";
import type { StratumConfig } from "./config";
import type { AcceptedShare, FoundBlock } from "./events";
import type { ExtranonceAllocator } from "./extranonce";
import type { ResumableState, TemplateWork, Work } from "./jobs";
import type { StratumMetrics } from "./metrics";
import type { RpcId } from "./rpc";

/**
 * What a session needs of its server (StratumServer implements it), so that session.ts never
 * imports server.ts. `S` is the session type.
 */
export interface SessionHost<S> {
  readonly config: StratumConfig;
  readonly log: Logger;
  readonly metrics: StratumMetrics;
  readonly extranonces: ExtranonceAllocator;
  readonly minDifficultyNumber: number;
  readonly maxDifficultyNumber: number;
  readonly versionMask: number;
  /** The work currently handed out, and its block generation. */
  readonly work: Work | null;
  readonly generation: number;
  /** Header hashes accepted on the current previous block. */
  readonly duplicates: HeaderHashSet;
  /** Block headers found on the current previous block. */
  readonly blockHeaders: { add(hash: Buffer): boolean };
  /** Hashes submitted shares (one per server: the session's calls never overlap). */
  readonly hasher: ShareHasher;
  nextJobId(): string;
  clampDifficultyText(text: string): string;
  unpayableReason(address: string): string | undefined;
  takeResumable(subscriptionId: string, extranonce1: string): ResumableState | null;
  strike(s: S, reason: string): void;
  banSession(s: S, reason: string): void;
  punish(s: S, disconnectReason: string, detail: string): void;
  submitBlock(header: Buffer, coinbase: Buffer, tw: TemplateWork): Promise<FoundBlock>;
  /** The socket of `s` closed. */
  removeSession(s: S): void;
  recordShare(s: S, id: RpcId, share: AcceptedShare, seen: HeaderHashSet, headerHash: Buffer, blockSubmit: Promise<FoundBlock> | null): void;
}
