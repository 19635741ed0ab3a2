/**
 * The audit anchored to itself (fs-free): what the published files must say consistently across
 * lines, windows and epochs, whatever the operator re-derived.
 *  - Share ids in a window are contiguous, or the file lists each gap with its reason; a listed
 *    gap whose ids the previous epoch's log holds is a dropped share, not a gap.
 *  - A share (by id) in both this epoch's and the previous epoch's windows is byte-identical in
 *    both (every field but `block` and `credited`, which depend on the window): a share renumbered,
 *    replaced or edited between the two files is named.
 *  - Fee, PPLNS factor and payout scheme equal the previous epoch's unless the change was
 *    announced an epoch or more ahead (`parameters`, see src/epochs/format.ts).
 */
import type { EpochFile } from "../epochs/format";

/** FNV-1a (32-bit) of `s` from `start`: a fingerprint for comparing share lines. */
export function fnv1a(s: string, start = 0): number {
  let h = 0x811c9dc5;
  for (let i = start; i < s.length; i++) {
    h ^= s.charCodeAt(i);
    h = Math.imul(h, 0x01000193);
  }
  return h >>> 0;
}

/**
 * The fingerprint of a share-log line without its window-dependent fields (`block`, `id` and
 * `credited` come first in the canonical order: everything from `"address":` on is the share).
 */
export function shareLineFingerprint(line: string): number {
  const at = line.indexOf('"address":');
  return fnv1a(line, at < 0 ? 0 : at);
}

/**
 * The previous epoch's shares by id (fingerprints), for ids from `minId` on: only those can also
 * be in this epoch's windows. Dense arrays for the usual contiguous ids, a map past `maxDense`.
 */
export class PreviousShares {
  private readonly dense: Uint32Array | undefined;
  private readonly present: Uint8Array | undefined;
  private readonly sparse = new Map<number, number>();
  count = 0;

  constructor(
    readonly epoch: number,
    private readonly minId: number,
    maxId: number,
    maxDense = 50_000_000,
  ) {
    const span = maxId - minId + 1;
    if (span > 0 && span <= maxDense) {
      this.dense = new Uint32Array(span);
      this.present = new Uint8Array(span);
    }
  }

  /** Whether ids below `minId` are skipped (they cannot be in this epoch's windows). */
  wants(id: number): boolean {
    return id >= this.minId;
  }

  add(id: number, fingerprint: number): void {
    if (id < this.minId) return;
    const i = id - this.minId;
    if (this.dense && this.present && i < this.dense.length) {
      if (!this.present[i]) this.count++;
      this.dense[i] = fingerprint;
      this.present[i] = 1;
      return;
    }
    if (!this.sparse.has(id)) this.count++;
    this.sparse.set(id, fingerprint);
  }

  get(id: number): number | undefined {
    if (id < this.minId) return undefined;
    const i = id - this.minId;
    if (this.dense && this.present && i < this.dense.length) return this.present[i] ? this.dense[i] : undefined;
    return this.sparse.get(id);
  }
}

/** Ids per block window: contiguity against the listed gaps, identity against the previous epoch. */
export class WindowConsistency {
  readonly findings: string[] = [];
  private count = 0;
  private block = -1;
  private lastId = 0;
  private readonly observed = new Map<number, { from: number; to: number }[]>();

  constructor(
    private readonly file: EpochFile,
    private readonly previous: PreviousShares | undefined,
    private readonly maxFindings = 20,
  ) {}

  private finding(m: string): void {
    if (++this.count <= this.maxFindings) this.findings.push(m);
  }

  /** A line of block `block`, id `id` (lines in file order), with its fingerprint. */
  add(block: number, id: number, fingerprint: number): void {
    if (block !== this.block) {
      this.block = block;
      this.lastId = 0;
    }
    if (this.lastId > 0 && id > this.lastId + 1) {
      const gaps = this.observed.get(block) ?? [];
      gaps.push({ from: this.lastId + 1, to: id - 1 });
      this.observed.set(block, gaps);
    }
    if (id > this.lastId) this.lastId = id;
    if (this.previous) {
      const before = this.previous.get(id);
      if (before !== undefined && before !== fingerprint) {
        this.finding(`share ${id} (block ${block}) differs from share ${id} in epoch ${this.previous.epoch}'s log: a share in both epochs' windows must be byte-identical (renumbered, replaced or edited)`);
      }
    }
  }

  /** After the last line: every observed gap listed, every listed gap real. */
  finish(): string[] {
    this.file.blocks.forEach((b, i) => {
      const listed = b.window.gaps ?? [];
      const seen = this.observed.get(i) ?? [];
      for (const g of seen) {
        const covered = listed.some((l) => l.from === g.from && l.to === g.to);
        if (!covered) {
          const n = g.to - g.from + 1;
          this.finding(`block ${i}: share id${n > 1 ? "s" : ""} ${g.from}${n > 1 ? `..${g.to}` : ""} missing from the middle of the window (${n} share${n > 1 ? "s" : ""} dropped?), and the file lists no such gap`);
        }
      }
      for (const l of listed) {
        if (!seen.some((g) => g.from === l.from && g.to === l.to)) this.finding(`block ${i}: the file lists a gap ${l.from}..${l.to} ("${l.reason}") that the share log does not have`);
        if (this.previous) {
          for (let id = l.from; id <= l.to && id - l.from < 1_000_000; id++) {
            if (this.previous.get(id) !== undefined) {
              this.finding(`block ${i}: the file lists ids ${l.from}..${l.to} as a gap ("${l.reason}"), but share ${id} is in epoch ${this.previous.epoch}'s log: it was dropped`);
              break;
            }
          }
        }
      }
    });
    if (this.count > this.maxFindings) this.findings.push(`${this.count} window consistency findings in all`);
    return this.findings;
  }
}

/** The payout scheme of an epoch file: its `scheme.name`, or pplns when it has no scheme section. */
export function schemeOf(file: { scheme?: { name: string } }): string {
  return file.scheme?.name ?? "pplns";
}

/**
 * Fee, factor and payout scheme against the previous epoch's file: equal, unless the previous file
 * announced the change from this epoch (`parameters.fromEpoch === epoch`); a pending announcement
 * is carried unchanged until it applies, and an announcement must be for a later epoch. Reads only
 * the header fields named in ParameterFields (the pool checks its next epoch before building it,
 * src/schemes/change.ts).
 */
export interface ParameterFields {
  epoch: number;
  fee: { bps: number };
  pplns: { factor: string };
  scheme?: { name: string };
  parameters?: EpochFile["parameters"];
}

export function verifyParameters(file: ParameterFields, previous: ParameterFields | null): string[] {
  const findings: string[] = [];
  const mine = file.parameters;
  if (mine && mine.fromEpoch <= file.epoch) findings.push(`epoch ${file.epoch} announces a change from epoch ${mine.fromEpoch}: an announcement must be for a later epoch`);
  if (mine?.scheme === "pplns" && schemeOf(file) !== "pplns") findings.push(`epoch ${file.epoch} announces a change from ${schemeOf(file)} back to pplns from epoch ${mine.fromEpoch}: its windows would pay again shares already paid`);
  if (!previous) return findings;
  const announced = previous.parameters;
  let feeBps = previous.fee.bps;
  let factor = previous.pplns.factor;
  let scheme = schemeOf(previous);
  const said = (p: { feeBps: number; factor: string; scheme?: string }) => `fee ${p.feeBps} bps / factor ${p.factor}${p.scheme ? ` / scheme ${p.scheme}` : ""}`;
  if (announced && announced.fromEpoch === file.epoch) {
    feeBps = announced.feeBps;
    factor = announced.factor;
    scheme = announced.scheme ?? scheme;
  } else if (announced && announced.fromEpoch > file.epoch) {
    if (!mine || mine.fromEpoch !== announced.fromEpoch || mine.feeBps !== announced.feeBps || mine.factor !== announced.factor || mine.scheme !== announced.scheme) {
      findings.push(`epoch ${previous.epoch} announced ${said(announced)} from epoch ${announced.fromEpoch}; epoch ${file.epoch} ${mine ? `changes it to ${said(mine)} from epoch ${mine.fromEpoch}` : "drops the announcement"}`);
    }
  }
  const how = announced && announced.fromEpoch === file.epoch ? `as announced in epoch ${previous.epoch}` : `as in epoch ${previous.epoch}, with no change announced for epoch ${file.epoch}`;
  if (file.fee.bps !== feeBps) findings.push(`fee changed from ${feeBps} to ${file.fee.bps} bps without an announcement an epoch ahead (expected ${feeBps} bps ${how})`);
  if (file.pplns.factor !== factor) findings.push(`PPLNS factor changed from ${factor} to ${file.pplns.factor} without an announcement an epoch ahead (expected ${factor} ${how})`);
  if (schemeOf(file) !== scheme) findings.push(`payout scheme changed from ${scheme} to ${schemeOf(file)} without an announcement an epoch ahead (expected ${scheme} ${how})`);
  // PPLNS windows reach back over shares a PPS/FPPS epoch already paid: no way back, announced or not
  // (the builder and the config refuse it where it is made; this is where it is checked).
  const before = schemeOf(previous);
  if (before !== "pplns" && schemeOf(file) === "pplns") findings.push(`payout scheme goes back from ${before} (epoch ${previous.epoch}) to pplns: its windows would pay again shares ${before} already paid`);
  return findings;
}
