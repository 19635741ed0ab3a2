/**
 * The per-line half of the audit (fs-free): everything about one share-log line that does not
 * depend on the lines before it. Parsing (with unknown fields), the share's work rebuilt from its
 * own bytes (src/epochs/sharecheck.ts), the chain's facts for it (src/audit/chaincheck.ts, all but
 * the order check), its weight from its coinbase (src/epochs/verify.ts `weighShare`) and the
 * fingerprint compared across epochs. The other half, the sequential fold (caps on findings, chain
 * order, ids and gaps, duplicates, the PPLNS windows), is EpochAudit's (epochaudit.ts).
 *
 * EpochAudit runs a LineChecker in its own thread (the reference path, and the browser audit);
 * src/audit/parallel.ts runs one per worker thread and ships the outcomes back in columns
 * (outcomecodec.ts). Both fold the same outcomes, so both give the same findings.
 */
import { parseShareLogEntry, type ShareLogEntry } from "../epochs/sharelog";
import { CommitmentReader, verifyShareWorkEntry } from "../epochs/sharecheck";
import { weighShare, type WeighedShare } from "../epochs/verify";
import { displayHexToInternal } from "../pow";
import type { ChainAnchor } from "./chaincheck";
import { shareLineFingerprint } from "./consistency";

/** What one line gave, before the fold. */
export interface LineOutcome {
  /** Unknown-field findings (already worded), in order. */
  unknown: string[];
  /** The parse error (worded as a finding) when the line is not a share. */
  malformed?: string;
  /** The share, when the line parsed. */
  share?: ShareOutcome;
}

export interface ShareOutcome {
  block: number;
  id: number;
  /** The hash as logged (for messages and the window's block check). */
  hash: string;
  /** FNV-1a of the line from "address" on (consistency.ts); 0 when not compared (`fingerprintIds`). */
  fingerprint: number;
  /**
   * The header hash for "one header, one credit" (internal byte order): the rebuilt one when the
   * work was checked, else the logged one; undefined when neither exists.
   */
  headerHash?: Buffer;
  /** True when headerHash is known to be the logged hash (display hex, any case). */
  hashIsLogged?: boolean;
  /** The work check's finding (already worded "share N: …"). */
  work?: string;
  /** The chain's findings as [kind, message] pairs (undefined: no chain, or it failed). */
  chain?: [string, string][];
  /** Height mined, for the chain order check. */
  height?: number;
  /** The chain could not be read for this share (the first such error ends the chain checks). */
  chainError?: string;
  /** The weighed share for the PPLNS recomputation. */
  weighed: WeighedShare;
  /** The whole entry, only when its logged hash is one of the epoch's blocks (the reward check reads its coinbase). */
  entry?: ShareLogEntry;
}

export interface LineCheckerOptions {
  checkWork: boolean;
  anchor?: ChainAnchor;
  /** The epoch's block hashes, lower case. */
  blockHashes: Set<string>;
  /**
   * Ids whose line fingerprint is compared with the previous epoch's (the ids its log holds);
   * other lines get fingerprint 0, never compared. Absent: none (no previous epoch).
   */
  fingerprintIds?: { from: number; to: number };
}

export class LineChecker {
  private readonly commitments = new CommitmentReader();
  private chainFailed = false;

  constructor(private readonly options: LineCheckerOptions) {}

  /** True once a chain error stopped this checker's chain checks. */
  get chainStopped(): boolean {
    return this.chainFailed;
  }

  /** Checks line `lineNo` (the share log's header line is not a share: the caller handles it). */
  async check(line: string, lineNo: number): Promise<LineOutcome> {
    const unknown: string[] = [];
    let e: ShareLogEntry;
    try {
      e = parseShareLogEntry(line, lineNo, (field) => unknown.push(`share log line ${lineNo}: unknown field "${field}"`));
    } catch (err) {
      return { unknown, malformed: `share log: ${(err as Error).message}${line.length > 0 && !line.endsWith("}") ? " (truncated line?)" : ""}` };
    }
    const fp = this.options.fingerprintIds;
    const fingerprint = fp && e.id >= fp.from && e.id <= fp.to ? shareLineFingerprint(line) : 0;
    const s: ShareOutcome = { block: e.block, id: e.id, hash: e.hash, fingerprint, weighed: weighShare(e, this.commitments) };
    const anchor = this.options.anchor;
    let info;
    if (anchor && !this.chainFailed) {
      try {
        info = await anchor.lookup(e.prevhash);
      } catch (err) {
        this.chainFailed = true;
        s.chainError = (err as Error).message.split("\n")[0];
      }
    }
    let coinbase: Buffer | undefined;
    if (this.options.checkWork) {
      const verdict = verifyShareWorkEntry(e, this.commitments, info?.bits);
      s.headerHash = verdict.hash;
      s.work = verdict.problem;
      // verifyShareWorkEntry compares the rebuilt hash with the logged one before anything else.
      s.hashIsLogged = verdict.problem === undefined && verdict.hash !== undefined;
      coinbase = verdict.coinbase;
    } else {
      try {
        s.headerHash = displayHexToInternal(e.hash);
        s.hashIsLogged = true;
      } catch {
        s.headerHash = undefined; // a malformed hash is the parser's and the work check's finding
      }
    }
    if (anchor && info) {
      const c = this.commitments.read(e.coinb1);
      const r = anchor.checkShare(e, info, coinbase, typeof c === "string" ? undefined : c.height);
      s.chain = r.findings;
      s.height = r.height;
    }
    if (this.options.blockHashes.has(e.hash.toLowerCase())) s.entry = e;
    return { unknown, share: s };
  }
}
