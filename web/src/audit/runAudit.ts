import { createPublicClient, http, type Hex } from "viem";
import { api, ApiError, ApiUnreachableError } from "../api/client";
import type { PoolConfig } from "../api/types";
import { poolChain } from "../chain/client";
import { readOnChainRoot, type OnChainRoot } from "./onchain";
import { createDigest, EpochAudit, liveProposal, parseEpochFile, PublishedHeaderChain, readProposals, type ContractLookup, type EpochAuditReport, type EpochFile, type ShareLogHash } from "./shared";
import { LineSplitter } from "./lines";

export type CheckStatus = "pass" | "fail" | "skipped";

export interface Check {
  id: string;
  status: CheckStatus;
  /** One line saying what was compared. */
  text: string;
  /** The verifier's findings when it failed (each names the share, leaf or field). */
  findings?: string[];
}

export interface BadLeaf {
  index: number;
  account: string;
  /** What is wrong with it, in the verifier's words. */
  problem: string;
}

export interface AuditReport {
  epoch: number;
  verdict: "pass" | "fail" | "incomplete";
  summary: string;
  checks: Check[];
  fileHash: Hex;
  /** The first leaf a verifier named, when the file's leaves are at fault. */
  badLeaf: BadLeaf | null;
  chain: OnChainRoot | null;
  /** Share lines checked. */
  shares: number;
}

/** Where the audit is: `done` of `total` (share lines, or bytes while downloading). */
export interface AuditProgress {
  phase: string;
  done: number;
  total: number;
}

/** Share lines checked between two repaints of the progress bar. */
const LINES_PER_SLICE = 2_000;

const nextFrame = () => new Promise<void>((resolve) => setTimeout(resolve, 0));

/** GET `path` as a stream, with the API client's errors (404 → ApiError, no answer → ApiUnreachableError). */
async function stream(path: string): Promise<Response> {
  let res: Response;
  try {
    res = await fetch(path, { cache: "no-store" });
  } catch {
    throw new ApiUnreachableError(path);
  }
  if (!res.ok || !res.body) {
    let reason = res.statusText || "request failed";
    try {
      const body = (await res.json()) as { error?: unknown };
      if (typeof body.error === "string") reason = body.error;
    } catch {
      // not JSON
    }
    throw new ApiError(res.status, reason, path);
  }
  return res;
}

/**
 * Streams a share log into `each` line by line (split exactly as `pool audit` splits files:
 * LF, CRLF or a lone CR), hashing its bytes; yields to the page every few thousand lines so that
 * the progress bar moves. Returns the digest (`hash`) of the bytes.
 */
async function streamLines(path: string, hash: ShareLogHash, each: (line: string) => Promise<void> | void, progress: (lines: number) => void): Promise<string> {
  const res = await stream(path);
  const reader = res.body!.getReader();
  const digest = createDigest(hash);
  const decoder = new TextDecoder("utf-8");
  const splitter = new LineSplitter();
  let lines = 0;
  let sinceYield = 0;
  const feed = async (batch: string[]) => {
    for (const line of batch) {
      await each(line);
      lines++;
      if (++sinceYield >= LINES_PER_SLICE) {
        sinceYield = 0;
        progress(lines);
        await nextFrame();
      }
    }
  };
  for (;;) {
    const { done, value } = await reader.read();
    if (done) break;
    digest.update(Buffer.from(value.buffer, value.byteOffset, value.byteLength));
    await feed(splitter.push(decoder.decode(value, { stream: true })));
  }
  await feed(splitter.push(decoder.decode()));
  await feed(splitter.end());
  progress(lines);
  return digest.hex();
}

/** The contract's records (RootProposed, RootRevoked) read from the chain directly, never from the pool's API. */
async function contractRecords(config: PoolConfig): Promise<ContractLookup> {
  const client = createPublicClient({ chain: poolChain(config), transport: http(config.rpcUrl, { retryCount: 1, timeout: 20_000 }) });
  const proposals = await readProposals(client, config.contract);
  return async (epoch) => liveProposal(proposals, epoch);
}

/** Which check a finding belongs to, by the prefix the auditor gives it. */
const CHECK_OF: Record<string, string> = {
  format: "parse",
  file: "parse",
  tree: "rebuild",
  continuity: "continuity",
  parameters: "continuity",
  contract: "chain",
  chain: "pow",
  work: "work",
  "duplicate header": "work",
  duplicates: "work",
  "share log": "shares",
  pplns: "pplns",
  allocation: "pplns",
  consistency: "consistency",
};

const CHECK_TEXT: Record<string, { pass: string; fail: string }> = {
  parse: { pass: "", fail: "The epoch file is malformed or not this pool's." },
  rebuild: { pass: "", fail: "Rebuilt the tree from the leaves: it does not match the file." },
  continuity: { pass: "", fail: "Leaf amounts or parameters do not follow from the previous epoch." },
  chain: { pass: "", fail: "The file is not what the contract recorded." },
  pow: { pass: "", fail: "Shares or blocks do not match the proof-of-work chain." },
  work: { pass: "", fail: "Shares whose work does not hold, or that are credited twice." },
  shares: { pass: "", fail: "The share log is malformed or not the one the file names." },
  pplns: { pass: "", fail: "Recomputed from the shares, the windows or allocations differ from the file." },
  consistency: { pass: "", fail: "Share ids have unlisted gaps, or shares differ between epochs." },
  other: { pass: "", fail: "Other findings." },
};

/** "leaf 3 (0xabc…): …" / "leaf 3 (0xabc…) has …" is how the verifiers name a leaf. */
function firstBadLeaf(findings: string[], file: EpochFile | undefined): BadLeaf | null {
  if (!file) return null;
  for (const finding of findings) {
    const m = /leaf (\d+) \((0x[0-9a-f]{40})\):? (.*)$/.exec(finding);
    if (m && Number(m[1]) < file.leaves.accounts.length) return { index: Number(m[1]), account: m[2], problem: m[3] };
  }
  return null;
}

/**
 * The whole audit of epoch `epoch` in the browser, with the same module `pool audit` runs
 * (src/audit/epochaudit.ts): the epoch file and its share log (and the previous epoch's) from the
 * pool's API, the proof-of-work chain from the header chain the pool publishes (verified here:
 * links, work, bits, times), and the contract's records read from the chain directly. Every share's
 * work and coinbase, the chain checks, PPLNS and every allocation, the tree, continuity, ids and
 * gaps, duplicates: findings, never exceptions (only an epoch file that cannot be downloaded at
 * all rejects).
 */
export async function runAudit(config: PoolConfig, epoch: number, onProgress: (p: AuditProgress) => void = () => undefined): Promise<AuditReport> {
  onProgress({ phase: `Downloading epoch ${epoch}'s file`, done: 0, total: 0 });
  const bytes = await api.epochFileBytes(epoch);
  let peek: EpochFile | undefined;
  try {
    peek = parseEpochFile(new TextDecoder().decode(bytes));
  } catch {
    peek = undefined; // the audit reports it
  }
  const skipped: Check[] = [];
  const extra: string[] = [];
  if (peek && peek.epoch !== epoch) extra.push(`file: the file says it is epoch ${peek.epoch}, not ${epoch}`);
  if (peek && peek.chain.evmChainId !== config.chainId) extra.push(`file: the file is for chain ${peek.chain.evmChainId}, the pool pays on chain ${config.chainId}`);

  onProgress({ phase: "Reading the proof-of-work chain and the contract", done: 0, total: 0 });
  let chain: PublishedHeaderChain | undefined;
  try {
    const res = await stream("/api/chain/headers");
    chain = PublishedHeaderChain.parse(await res.text());
  } catch (e) {
    if (e instanceof ApiError && e.status === 404) {
      skipped.push({ id: "pow", status: "skipped", text: `The pool mines on a bitcoind and publishes no header chain: check the shares against your own node with the command below (--bitcoind).` });
    } else if (e instanceof ApiError || e instanceof ApiUnreachableError) {
      skipped.push({ id: "pow", status: "skipped", text: `The published header chain could not be downloaded: ${(e as Error).message}` });
    } else extra.push(`chain: the published header chain does not verify: ${(e as Error).message}`);
  }
  let contract: ContractLookup | undefined;
  try {
    contract = await contractRecords(config);
  } catch (e) {
    skipped.push({ id: "chain", status: "skipped", text: `Could not read the contract at ${config.rpcUrl}: ${(e as Error).message.split("\n")[0]}` });
  }

  let previousBytes: Uint8Array | null = null;
  if (peek?.previous) {
    try {
      previousBytes = await api.epochFileBytes(peek.previous.epoch);
    } catch (e) {
      extra.push(`continuity: the previous epoch ${peek.previous.epoch}'s file ${e instanceof ApiError && e.status === 404 ? "is not published" : `could not be read (${(e as Error).message})`}`);
    }
  }

  const audit = new EpochAudit({ chain, contract, contractAddress: config.contract });
  const loaded = await audit.loadFile(bytes, previousBytes);
  const file = audit.file;
  let report: EpochAuditReport;
  if (!loaded || !file) report = await audit.finish("0x");
  else {
    if (file.previous && previousBytes) {
      const prev = file.previous.epoch;
      try {
        const digest = await streamLines(`/api/epochs/${prev}/shares`, audit.previousLogHash(), (line) => audit.previousLine(line), (n) => onProgress({ phase: `Reading epoch ${prev}'s share log`, done: n, total: 0 }));
        audit.previousLogDigest(digest);
      } catch (e) {
        if (e instanceof ApiError && e.status === 404) audit.previousLogMissing(`/api/epochs/${prev}/shares`);
        else throw e;
      }
    }
    const total = file.shareLog.lines;
    let digest = "0x";
    try {
      digest = await streamLines(`/api/epochs/${epoch}/shares`, file.shareLog.hash, (line) => audit.line(line), (n) => onProgress({ phase: "Checking every share", done: Math.max(0, n - 1), total }));
    } catch (e) {
      if (e instanceof ApiError && e.status === 404) audit.findings.push(`share log: /api/epochs/${epoch}/shares is not published`);
      else throw e;
    }
    onProgress({ phase: "Recomputing the windows, the allocations and the blocks", done: total, total });
    await nextFrame();
    report = await audit.finish(digest);
  }

  const findings = [...extra, ...report.findings];
  const groups = new Map<string, string[]>();
  for (const f of findings) {
    const m = /^([a-z][a-z ]*?): /.exec(f);
    const id = (m && CHECK_OF[m[1]]) || "other";
    const list = groups.get(id) ?? [];
    list.push(m && CHECK_OF[m[1]] ? f.slice(m[0].length) : f);
    groups.set(id, list);
  }

  let onChain: OnChainRoot | null = null;
  if (contract) {
    try {
      onChain = await readOnChainRoot(config, epoch);
    } catch {
      onChain = null;
    }
  }
  const leafCount = file?.leaves.accounts.length ?? 0;
  const shares = report.shares;
  const passText: Record<string, string> = {
    parse: `Downloaded the epoch file: ${bytes.length.toLocaleString()} bytes, ${leafCount.toLocaleString()} leaves, keccak256 ${report.dataHash}.`,
    rebuild: `Rebuilt the tree from the ${leafCount.toLocaleString()} leaves: root ${report.root} equals the file's root, and the leaves add up to its total and reward.`,
    continuity: file?.previous
      ? `Every leaf is its cumulative amount in epoch ${file.previous.epoch}'s file plus this epoch's delta; fee and PPLNS factor are unchanged or were announced an epoch ahead.`
      : "First epoch: every leaf's cumulative amount is its delta.",
    chain: onChain?.root
      ? `The contract's ${onChain.state === "active" ? "active root" : onChain.state === "pending" ? "pending root" : `${onChain.state} root`} for epoch ${epoch} is ${onChain.root}: it equals the file's root, and the contract recorded this file's keccak256 and total${file?.previous ? ` (and epoch ${file.previous.epoch}'s)` : ""}.`
      : `The contract recorded this file's root, total and keccak256 for epoch ${epoch}.`,
    pow: `Every share builds on a block of the pool's published header chain (proof of work verified here), with the chain's bits, its height in the coinbase, ntime within bounds and a coinbase paying the pool; each block is in the chain and its reward is what its coinbase pays.`,
    work: `Every one of the ${shares.toLocaleString()} shares was rebuilt from its own bytes: its hash meets the difficulty its coinbase commits to, its coinbase pays the address credited, and no header is credited twice.`,
    shares: `The share log's ${shares.toLocaleString()} lines are well formed and hash to the digest the file names.`,
    pplns: `Every block's PPLNS window and every allocation, recomputed from the shares, equal the file's.`,
    consistency: `Share ids in every window are contiguous or the gap is listed; shares also in the previous epoch's windows are byte-identical there.`,
  };
  const order = ["parse", "rebuild", "continuity", "chain", "pow", "work", "shares", "pplns", "consistency", "other"];
  const checks: Check[] = [];
  for (const id of order) {
    const failed = groups.get(id);
    const skip = skipped.find((c) => c.id === id);
    if (failed) checks.push({ id, status: "fail", text: CHECK_TEXT[id].fail, findings: failed });
    else if (skip) checks.push(skip);
    else if (id === "other") continue;
    else if (!loaded && id !== "parse") checks.push({ id, status: "skipped", text: "Not checked: the epoch file could not be read." });
    else checks.push({ id, status: "pass", text: passText[id] });
  }

  const badLeaf = firstBadLeaf(findings, file);
  const failed = checks.filter((c) => c.status === "fail");
  const base = { epoch, checks, fileHash: report.dataHash, badLeaf, chain: onChain, shares };
  if (failed.length > 0) {
    const first = failed[0].findings?.[0];
    const leavesAtFault = groups.get("rebuild")?.some((f) => f.startsWith("root mismatch"));
    const why = leavesAtFault ? `the file's root does not match its own leaves${badLeaf ? `; first differing leaf: #${badLeaf.index} (${badLeaf.account})` : ""}` : `${failed[0].text.replace(/\.$/, "")}: ${first}`;
    return { ...base, verdict: "fail", summary: `Audit failed (${findings.length} finding${findings.length === 1 ? "" : "s"}): ${why}.` };
  }
  if (checks.some((c) => c.status === "skipped")) {
    return { ...base, verdict: "incomplete", summary: `No finding, but not everything could be checked: ${checks.filter((c) => c.status === "skipped").map((c) => c.text).join(" ")}` };
  }
  return {
    ...base,
    verdict: "pass",
    summary: `Root matches, and every share checks out: the contract's root for epoch ${epoch} is exactly the tree of this file's leaves, and those leaves follow from the ${shares.toLocaleString()} shares of its log, each with real work on the pool's chain.`,
  };
}
