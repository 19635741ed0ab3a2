/**
 * The whole audit of one epoch, fs-free: fed the epoch file's bytes, the previous epoch's, and the
 * two share logs line by line, it returns every finding, never an exception (a malformed file, a
 * truncated line, an unknown field, ids out of order are each a finding). Shared by `pool audit`
 * (src/epochs/audit.ts reads the files), the watchtower (src/watch) and the browser audit.
 *
 * Rule for the whole auditor: never trust a field the operator wrote when the proof-of-work chain,
 * the contract or the share's own bytes can decide it. So:
 *  - the share's own bytes: its proof of work rebuilt, its weight and payee from its coinbase
 *    (src/epochs/sharecheck.ts), one header one credit;
 *  - the proof-of-work chain (`chain`, src/audit/chaincheck.ts): nbits, previous block, height,
 *    ntime bounds, payout script, chain order, the epoch's blocks and their rewards (coinbase
 *    satoshis × the file's asset.unitsPerSatoshi: src/epochs/units.ts);
 *  - the contract (`contract`, src/audit/contract.ts): this epoch's root, total and data hash, and
 *    the previous epoch file's, as PayoutPool recorded them (RootProposed, not revoked);
 *  - itself (src/audit/consistency.ts): contiguous ids or listed gaps, shares byte-identical
 *    across epochs, fee and factor changed only when announced ahead.
 */
import type { Hex } from "viem";
import { keccak256Hex, SHARE_LOG_HASH, type ShareLogHash } from "../epochs/digest";
import { EpochFormatError, parseEpochFile, type EpochFile } from "../epochs/format";
import { DuplicateHeaderCheck } from "../epochs/sharecheck";
import { unitsPerSatoshiOf, verifyAsset } from "../epochs/units";
import { parseShareLogEntry, parseShareLogHeader, type ShareLogEntry } from "../epochs/sharelog";
import { AllocationRecomputer, verifyContinuity, verifyTree } from "../epochs/verify";
import type { AddressKeysView } from "../epochs/addresskeys";
import { ChainAnchor } from "./chaincheck";
import { PreviousShares, shareLineFingerprint, verifyParameters, WindowConsistency } from "./consistency";
import { compareWithRecorded, type ContractLookup } from "./contract";
import { LineChecker, type LineOutcome } from "./linecheck";
import type { PowChainView } from "./powchain";
import type { PlainShareSource } from "../epochs/verify";

/** Gives a line folded by foldPlain back whole: its display hash, its weighed share. */
export interface PlainLineSource extends PlainShareSource {
  readonly hashAt: (i: number) => string;
}
import { SchemeRecomputer, shareIdSpan } from "../schemes/audit";

export interface EpochAuditOptions {
  /** Re-verify every share's proof of work and coinbase (default true). */
  checkWork?: boolean;
  /** The proof-of-work chain, read by the auditor itself; without it the chain checks are not made (the report says so). */
  chain?: PowChainView;
  /** The pool's coinbase output script (hex); default: the epoch file's `chain.payoutScript`. */
  payoutScript?: string;
  /** The pool server's ntime future limit (default 7200 s). */
  ntimeFutureSeconds?: number;
  /** Depth every block of the epoch must have (default 1). */
  minConfirmations?: number;
  /** What the contract recorded per epoch; without it the contract checks are not made. */
  contract?: ContractLookup;
  /** The contract's address, to check the file names it. */
  contractAddress?: string;
}

export interface AuditReport {
  ok: boolean;
  epoch: number;
  root: Hex;
  totalCumulative: bigint;
  dataHash: Hex;
  shares: number;
  leaves: number;
  findings: string[];
  /** What the audit was anchored to: the chain's source, and whether the contract was read. */
  anchors: { chain: string | null; contract: boolean };
}

const MAX_LINE_FINDINGS = 20;

export class EpochAudit {
  readonly findings: string[] = [];
  file: EpochFile | undefined;
  dataHash: Hex = ("0x" + "00".repeat(32)) as Hex;
  private previous: { file: EpochFile; dataHash: Hex } | null = null;
  private readonly checkWork: boolean;
  private anchor: ChainAnchor | undefined;
  private recompute: AllocationRecomputer | undefined;
  /** PPS/FPPS epochs: every credit recomputed from the shares and the chain (src/schemes/audit.ts). */
  private scheme: SchemeRecomputer | undefined;
  private checker: LineChecker | undefined;
  private previousMinId = Number.MAX_SAFE_INTEGER;
  private previousMaxId = 0;
  private anchorScript = "6a";
  private duplicates = new DuplicateHeaderCheck();
  private epochLabel?: string;
  /** Where the tree's findings go when loadFile deferred them. */
  private treeAt?: number;
  private previousShares: PreviousShares | undefined;
  private consistency: WindowConsistency | undefined;
  private readonly lastOfBlock: (ShareLogEntry | undefined)[] = [];
  private lineNo = 0;
  private prevLineNo = 0;
  private lineFindings = 0;
  private workFindings = 0;
  private chainError: string | undefined;
  shares = 0;

  constructor(private readonly options: EpochAuditOptions = {}) {
    this.checkWork = options.checkWork ?? true;
  }

  private lineFinding(m: string): void {
    if (++this.lineFindings <= MAX_LINE_FINDINGS) this.findings.push(m);
  }

  /**
   * Reads the epoch file and the previous one (null for none): structure, unknown fields, tree,
   * continuity, parameters, and the contract's records of both. False when the file cannot be
   * read at all (the report then holds only that finding). `onWorkers`: the caller checks the
   * lines on worker threads (src/audit/parallel.ts): the tree is rebuilt there too (its findings
   * come through `treeFindings`), and the address keys are shared with them (`addressKeysView`).
   */
  async loadFile(bytes: Uint8Array, previousBytes: Uint8Array | null, onWorkers = false): Promise<boolean> {
    this.dataHash = keccak256Hex(asBuffer(bytes));
    const unknown = (where: string) => (field: string) => this.findings.push(`format: ${where} has an unknown field "${field}"`);
    try {
      this.file = parseEpochFile(asBuffer(bytes), unknown("the epoch file"));
    } catch (err) {
      this.findings.push(`format: ${err instanceof EpochFormatError ? err.message : `epoch file unreadable: ${(err as Error).message}`}`);
      return false;
    }
    const file = this.file;
    if (this.options.contractAddress && file.contract.toLowerCase() !== this.options.contractAddress.toLowerCase()) {
      this.findings.push(`file: names contract ${file.contract}, auditing ${this.options.contractAddress}`);
    }
    if (onWorkers) this.treeAt = this.findings.length;
    else this.treeFindings(verifyTree(file).findings);

    if (previousBytes) {
      try {
        this.previous = { file: parseEpochFile(asBuffer(previousBytes), unknown("the previous epoch file")), dataHash: keccak256Hex(asBuffer(previousBytes)) };
      } catch (err) {
        this.findings.push(`continuity: the previous epoch file is unreadable: ${(err as Error).message}`);
      }
    } else if (file.previous !== null) {
      this.findings.push(`continuity: epoch ${file.epoch} builds on epoch ${file.previous.epoch}; pass its file to check that no amount decreased`);
    }
    if (this.previous || file.previous === null) this.findings.push(...verifyContinuity(file, this.previous).map((f) => `continuity: ${f}`));
    if (this.previous) {
      const paid = new Set(this.previous.file.blocks.map((b) => b.hash.toLowerCase()));
      file.blocks.forEach((b, i) => {
        if (paid.has(b.hash.toLowerCase())) this.findings.push(`continuity: block ${i} (${b.hash}) was already paid in epoch ${this.previous!.file.epoch}`);
      });
    }
    this.findings.push(...verifyParameters(file, this.previous?.file ?? null).map((f) => `parameters: ${f}`));
    this.findings.push(...verifyAsset(file).map((f) => `units: ${f}`));
    if (this.previous && unitsPerSatoshiOf(this.previous.file) !== unitsPerSatoshiOf(file)) {
      this.findings.push(`units: asset.unitsPerSatoshi is ${unitsPerSatoshiOf(file)}, epoch ${this.previous.file.epoch}'s was ${unitsPerSatoshiOf(this.previous.file)}: cumulative amounts would mix units`);
    }

    if (this.options.contract) await this.checkContract(file);

    const script = this.options.payoutScript ?? file.chain.payoutScript;
    if (this.options.chain) {
      if (!script) this.findings.push("chain: the pool's payout script is unknown (the file states none): pass it (--payout-script) to check what shares and blocks pay");
      this.anchorScript = script ?? "6a";
      this.anchor = new ChainAnchor({
        chain: this.options.chain,
        payoutScript: this.anchorScript,
        ntimeFutureSeconds: this.options.ntimeFutureSeconds,
        minConfirmations: this.options.minConfirmations,
      });
    }
    if (file.scheme) this.scheme = new SchemeRecomputer(file, this.previous?.file ?? null, this.options.chain !== undefined);
    else {
      try {
        this.recompute = new AllocationRecomputer(file, file.leaves.accounts.length, onWorkers);
      } catch (err) {
        this.findings.push(`pplns: ${(err as Error).message}`);
      }
    }
    if (this.previous) {
      const minId = shareIdSpan(file).first;
      const maxId = shareIdSpan(this.previous.file).last;
      this.previousShares = new PreviousShares(this.previous.file.epoch, minId, maxId);
    }
    this.consistency = new WindowConsistency(file, this.previousShares);
    return true;
  }

  private async checkContract(file: EpochFile): Promise<void> {
    const lookup = this.options.contract!;
    const where = this.options.contractAddress ?? "the contract";
    try {
      this.findings.push(...compareWithRecorded(`epoch ${file.epoch}`, await lookup(file.epoch), { root: file.root, totalCumulative: BigInt(file.totalCumulative), dataHash: this.dataHash }, where));
      if (file.previous) {
        const recorded = await lookup(file.previous.epoch);
        if (this.previous) {
          const p = this.previous;
          this.findings.push(...compareWithRecorded(`the previous epoch ${p.file.epoch}'s file`, recorded, { root: p.file.root, totalCumulative: BigInt(p.file.totalCumulative), dataHash: p.dataHash }, where));
        } else if (recorded) {
          if (recorded.root.toLowerCase() !== file.previous.root.toLowerCase() || recorded.dataHash.toLowerCase() !== file.previous.dataHash.toLowerCase()) {
            this.findings.push(`contract: the file builds on epoch ${file.previous.epoch} root ${file.previous.root}, the contract's is ${recorded.root}`);
          }
        } else this.findings.push(`contract: no live root for the previous epoch ${file.previous.epoch} on ${where}`);
      }
    } catch (err) {
      this.findings.push(`contract: could not read ${where}: ${(err as Error).message.split("\n")[0]}`);
    }
  }

  /**
   * Before any share line: `bound` is an upper bound on the share lines of both logs that the
   * caller knows from their sizes. The duplicate-header table is then allocated once for what the
   * files announce, at most `bound` (never the files' word alone), so it is never copied while growing.
   */
  presize(bound: number): void {
    const file = this.file;
    if (!file || this.duplicates.size > 0) return;
    const lines = Math.min(bound, file.shareLog.lines + (this.previous?.file.shareLog.lines ?? 0));
    if (Number.isSafeInteger(lines) && lines > 0) this.duplicates = new DuplicateHeaderCheck(20, lines);
    this.recompute?.presize(bound);
  }

  /** The previous epoch's share log is missing: repeated headers from it cannot be ruled out. */
  previousLogMissing(name: string): void {
    if (!this.previous) return;
    this.findings.push(`duplicates: the previous epoch's share log ${name} is missing: headers repeated from epoch ${this.previous.file.epoch} cannot be ruled out`);
  }

  /** One line of the previous epoch's share log (its header line first). */
  previousLine(line: string): void {
    if (!this.previous) return;
    const n = ++this.prevLineNo;
    if (n === 1) {
      try {
        parseShareLogHeader(line);
      } catch (err) {
        this.lineFinding(`previous share log: ${(err as Error).message}`);
      }
      return;
    }
    let e: ShareLogEntry;
    try {
      e = parseShareLogEntry(line, n);
    } catch (err) {
      this.lineFinding(`previous share log: ${(err as Error).message}`);
      return;
    }
    this.duplicates.add(e, undefined, `epoch ${this.previous.file.epoch}`);
    if (this.previousShares?.wants(e.id)) {
      this.previousShares.add(e.id, shareLineFingerprint(line));
      if (e.id > this.previousMaxId) this.previousMaxId = e.id;
      if (e.id < this.previousMinId) this.previousMinId = e.id;
    }
  }

  /** The digest the previous epoch file names for its share log (read it with `createDigest` of this). */
  previousLogHash(): ShareLogHash {
    return this.previous?.file.shareLog.hash ?? SHARE_LOG_HASH;
  }

  /** The digest (`previousLogHash()`) of the previous share log's bytes, once read. */
  previousLogDigest(digest: string): void {
    if (this.previous && digest.toLowerCase() !== this.previous.file.shareLog.digest.toLowerCase()) {
      this.findings.push(`duplicates: the previous epoch's share log does not match its digest ${this.previous.file.shareLog.digest}`);
    }
  }

  /** One line of this epoch's share log (its header line first). */
  async line(line: string): Promise<void> {
    if (!this.file) return;
    const n = this.lineNo + 1;
    if (n === 1) {
      this.headerLine(line);
      return;
    }
    this.fold(await this.lineChecker().check(line, n));
  }

  /** The share log's header line (line 1). */
  headerLine(line: string): void {
    const file = this.file;
    if (!file) return;
    this.lineNo = 1;
    try {
      const header = parseShareLogHeader(line);
      if (header.epoch !== file.epoch || header.blocks !== file.blocks.length) this.findings.push(`share log: header says epoch ${header.epoch} with ${header.blocks} blocks`);
    } catch (err) {
      this.lineFinding(`share log: ${(err as Error).message}`);
    }
  }

  /** The per-line checker for this epoch (what worker threads rebuild from `lineCheckSpec`). */
  lineChecker(): LineChecker {
    this.checker ??= new LineChecker({ checkWork: this.checkWork, anchor: this.anchor, blockHashes: this.blockHashes(), fingerprintIds: this.fingerprintIds() });
    return this.checker;
  }

  /** The ids of the previous epoch's log that this epoch's lines are compared with (after its log was read). */
  fingerprintIds(): { from: number; to: number } | undefined {
    return this.previousShares && this.previousMaxId > 0 ? { from: this.previousMinId, to: this.previousMaxId } : undefined;
  }

  /** The address keys worker threads look shares' addresses up in (loadFile `onWorkers`, PPLNS epochs), else undefined. */
  addressKeysView(): AddressKeysView | undefined {
    return this.recompute?.keysView() ?? undefined;
  }

  /** The epoch's block hashes, lower case. */
  blockHashes(): Set<string> {
    return new Set((this.file?.blocks ?? []).map((b) => b.hash.toLowerCase()));
  }

  /** The payout script and chain options the per-line checks use (for worker threads). */
  get anchorOptions(): { payoutScript: string; ntimeFutureSeconds?: number; minConfirmations?: number } | undefined {
    if (!this.anchor) return undefined;
    return { payoutScript: this.anchorScript, ntimeFutureSeconds: this.options.ntimeFutureSeconds, minConfirmations: this.options.minConfirmations };
  }

  get checksWork(): boolean {
    return this.checkWork;
  }

  /**
   * The sequential half of a share line, in log order: caps on findings, the chain order, ids and
   * gaps, "one header, one credit", the PPLNS windows. `outcome` is what a LineChecker gave for
   * the next line (in this thread or a worker's).
   */
  fold(outcome: LineOutcome): void {
    if (!this.file) return;
    this.lineNo++;
    for (const u of outcome.unknown) this.lineFinding(u);
    const s = outcome.share;
    if (!s) {
      if (outcome.malformed !== undefined) this.lineFinding(outcome.malformed);
      return;
    }
    this.shares++;
    this.consistency?.add(s.block, s.id, s.fingerprint);
    if (this.anchor && this.chainError === undefined) {
      if (s.chainError !== undefined) {
        this.chainError = s.chainError;
        this.findings.push(`chain: could not read the chain from ${this.anchor.source}: ${this.chainError}; the chain checks are incomplete`);
      } else if (s.chain) {
        for (const [kind, message] of s.chain) this.anchor.record(kind, message);
        this.anchor.order(s, s.height);
      }
    }
    if (this.checkWork && s.work !== undefined && ++this.workFindings <= 20) this.findings.push(`work: ${s.work}`);
    this.duplicates.add(s, s.headerHash, `epoch ${this.file.epoch}`);
    this.recompute?.addWeighed(s.weighed);
    this.scheme?.add(s.weighed, s.height);
    if (s.block >= 0 && s.block < this.file.blocks.length) this.lastOfBlock[s.block] = s.entry;
  }

  /**
   * The tree's findings (verifyTree), in their place among the findings: with loadFile's `onWorkers`, the
   * caller rebuilds the tree elsewhere (a worker thread) and hands them over before `finish`.
   */
  treeFindings(findings: string[]): void {
    const worded = findings.map((f) => `tree: ${f}`);
    if (this.treeAt === undefined) this.findings.push(...worded);
    else this.findings.splice(this.treeAt, 0, ...worded);
    this.treeAt = undefined;
  }

  /** Whether foldPlain may be used (not for PPS/FPPS epochs: their recompute reads whole shares). */
  get foldsPlain(): boolean {
    return this.scheme === undefined;
  }

  /**
   * `fold` for a share line with nothing to report, given as columns (outcomecodec.ts): parsed,
   * canonical fields, no finding of its own, no chain error, not one of the epoch's blocks. The
   * same steps as `fold`, without an object per line; `source` gives the line back whole (its
   * hash for a duplicate's finding, the share when it is the newest of its window). `key`: the
   * address's key when a worker looked it up (addressKeysView), else -1.
   */
  foldPlain(
    block: number,
    id: number,
    fingerprint: number,
    height: number | undefined,
    headerHash: Uint8Array,
    hashOffset: number,
    address: Uint8Array,
    addressOffset: number,
    whole: number,
    frac: number,
    credited: number,
    source: PlainLineSource,
    i: number,
    key = -1,
  ): void {
    const file = this.file;
    if (!file) return;
    this.lineNo++;
    this.shares++;
    this.consistency?.add(block, id, fingerprint);
    if (this.anchor && this.chainError === undefined) this.anchor.orderAt(block, id, height);
    this.duplicates.addAt(id, headerHash, hashOffset, (this.epochLabel ??= `epoch ${file.epoch}`), source.hashAt, i);
    this.recompute?.addPlain(block, id, address, addressOffset, whole, frac, credited, source, i, key);
    if (block >= 0 && block < file.blocks.length) this.lastOfBlock[block] = undefined;
  }

  /** Ends the audit: `logDigest` is this epoch's share log bytes hashed as `shareLog.hash` names. */
  async finish(logDigest: string): Promise<AuditReport> {
    const file = this.file;
    if (!file) {
      return { ok: false, epoch: 0, root: ("0x" + "00".repeat(32)) as Hex, totalCumulative: 0n, dataHash: this.dataHash, shares: 0, leaves: 0, findings: this.findings, anchors: { chain: null, contract: false } };
    }
    const f = this.findings;
    if (logDigest.toLowerCase() !== file.shareLog.digest.toLowerCase()) f.push(`share log: ${file.shareLog.hash} ${logDigest} differs from the digest in the epoch file ${file.shareLog.digest}`);
    if (this.lineFindings > MAX_LINE_FINDINGS) f.push(`share log: ${this.lineFindings} malformed lines or fields in all`);
    if (this.workFindings > 20) f.push(`work: ${this.workFindings} shares failed in all`);
    f.push(...this.duplicates.findings.map((x) => `duplicate header: ${x}`));
    if (this.duplicates.duplicates > this.duplicates.findings.length) f.push(`duplicate header: ${this.duplicates.duplicates} repeated headers in all`);
    if (this.recompute) {
      this.recompute.finish();
      f.push(...this.recompute.findings.map((x) => `pplns: ${x}`));
      f.push(...this.recompute.compare().map((x) => `allocation: ${x}`));
    }
    if (this.scheme) f.push(...(await this.scheme.finish(this.options.chain, this.chainError)).map((x) => `${file.scheme!.name}: ${x}`));
    if (this.consistency) f.push(...this.consistency.finish().map((x) => `consistency: ${x}`));
    if (this.anchor) {
      for (let i = 0; i < file.blocks.length; i++) {
        try {
          await this.anchor.block(i, file.blocks[i], this.lastOfBlock[i], unitsPerSatoshiOf(file));
        } catch (err) {
          f.push(`chain: could not read block ${i} from ${this.anchor.source}: ${(err as Error).message}`);
        }
      }
      f.push(...this.anchor.findings.map((x) => `chain: ${x}`), ...this.anchor.overflow().map((x) => `chain: ${x}`));
    }
    return {
      ok: f.length === 0,
      epoch: file.epoch,
      root: file.root,
      totalCumulative: BigInt(file.totalCumulative),
      dataHash: this.dataHash,
      shares: this.shares,
      leaves: file.leaves.accounts.length,
      findings: f,
      anchors: { chain: this.options.chain?.source ?? null, contract: this.options.contract !== undefined },
    };
  }
}

/** A Buffer over the same bytes (no copy: a 64 MB epoch file was copied twice here). */
function asBuffer(bytes: Uint8Array): Buffer {
  return Buffer.isBuffer(bytes) ? bytes : Buffer.from(bytes.buffer, bytes.byteOffset, bytes.byteLength);
}
