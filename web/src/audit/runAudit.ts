import { keccak256, type Hex } from "viem";
import { api, ApiError } from "../api/client";
import type { PoolConfig } from "../api/types";
import { readOnChainRoot, type OnChainRoot } from "./onchain";
import { parseEpochFile, verifyContinuity, verifyTree, type EpochFile } from "./shared";

export type CheckStatus = "pass" | "fail" | "skipped";

export interface Check {
  id: string;
  status: CheckStatus;
  /** One line saying what was compared. */
  text: string;
  /** The verifier's findings when it failed (each names the leaf or field). */
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
}

/** "leaf 3 (0xabc…): …" is how src/epochs/verify names a leaf in its findings. */
function firstBadLeaf(findings: string[], file: EpochFile): BadLeaf | null {
  for (const finding of findings) {
    const m = /^leaf (\d+) \((0x[0-9a-f]{40})\): (.*)$/.exec(finding);
    if (m && Number(m[1]) < file.leaves.accounts.length) return { index: Number(m[1]), account: m[2], problem: m[3] };
  }
  return null;
}

async function download(epoch: number): Promise<{ bytes: Uint8Array; hash: Hex }> {
  const bytes = await api.epochFileBytes(epoch);
  return { bytes, hash: keccak256(bytes) };
}

/**
 * Downloads epoch `epoch`'s file and checks it with the pool's own verifiers (the tree rebuilt
 * with src/merkle; continuity with the previous epoch's file), then compares its root and its
 * bytes' keccak256 with what the contract holds, read from the chain directly.
 */
export async function runAudit(config: PoolConfig, epoch: number): Promise<AuditReport> {
  const { bytes, hash: fileHash } = await download(epoch);
  const checks: Check[] = [];
  const add = (check: Check) => checks.push(check);
  const finish = (verdict: AuditReport["verdict"], summary: string, badLeaf: BadLeaf | null = null, chain: OnChainRoot | null = null): AuditReport => ({
    epoch,
    verdict,
    summary,
    checks,
    fileHash,
    badLeaf,
    chain,
  });

  let file: EpochFile;
  try {
    file = parseEpochFile(new TextDecoder().decode(bytes));
  } catch (e) {
    add({ id: "parse", status: "fail", text: (e as Error).message });
    return finish("fail", "The epoch file is malformed.");
  }
  const leafCount = file.leaves.accounts.length;
  add({ id: "parse", status: "pass", text: `Downloaded the epoch file: ${bytes.length.toLocaleString()} bytes, ${leafCount.toLocaleString()} leaves, keccak256 ${fileHash}.` });
  const identity: string[] = [];
  if (file.epoch !== epoch) identity.push(`the file says it is epoch ${file.epoch}, not ${epoch}`);
  if (file.chain.evmChainId !== config.chainId) identity.push(`the file is for chain ${file.chain.evmChainId}, the pool pays on chain ${config.chainId}`);
  if (file.contract.toLowerCase() !== config.contract.toLowerCase()) identity.push(`the file names contract ${file.contract}, the pool's is ${config.contract}`);
  if (identity.length > 0) add({ id: "identity", status: "fail", text: "The file is not this pool's epoch.", findings: identity });

  // Let the page paint "rebuilding…" before hashing a large tree synchronously.
  await new Promise((r) => setTimeout(r, 0));
  const tree = verifyTree(file);
  const rebuilt = tree.tree?.root;
  add({
    id: "rebuild",
    status: tree.findings.length === 0 ? "pass" : "fail",
    text:
      tree.findings.length === 0
        ? `Rebuilt the tree from the ${leafCount.toLocaleString()} leaves: root ${rebuilt} equals the file's root, and the leaves add up to its total and reward.`
        : `Rebuilt the tree from the leaves${rebuilt ? `: root ${rebuilt}` : ""}; it does not match the file.`,
    findings: tree.findings,
  });

  let continuity: string[];
  let continuityNote = "";
  try {
    let previous: { file: EpochFile; dataHash: string } | null = null;
    if (file.previous) {
      const prev = await download(file.previous.epoch);
      previous = { file: parseEpochFile(new TextDecoder().decode(prev.bytes)), dataHash: prev.hash };
      continuityNote = ` against epoch ${file.previous.epoch}'s file`;
    }
    continuity = verifyContinuity(file, previous);
  } catch (e) {
    const why = e instanceof ApiError && e.status === 404 ? "is not published" : `could not be read (${(e as Error).message})`;
    continuity = [`the previous epoch's file ${why}, so continuity could not be checked`];
  }
  add({
    id: "continuity",
    status: continuity.length === 0 ? "pass" : "fail",
    text:
      continuity.length === 0
        ? `Every leaf is its previous cumulative amount plus this epoch's delta, and no account lost its allocation${continuityNote}.`
        : "Leaf amounts do not follow from the previous epoch.",
    findings: continuity,
  });

  let chain: OnChainRoot | null = null;
  try {
    chain = await readOnChainRoot(config, epoch);
  } catch (e) {
    add({ id: "chain", status: "skipped", text: `Could not read the contract at ${config.rpcUrl}: ${(e as Error).message.split("\n")[0]}` });
  }
  if (chain) {
    if (!chain.root) add({ id: "chain", status: "fail", text: `The contract holds no root for epoch ${epoch} (its active epoch is ${chain.activeEpoch}).` });
    else {
      const same = chain.root.toLowerCase() === file.root.toLowerCase();
      const held = chain.state === "active" ? "active root" : chain.state === "pending" ? "pending root" : `${chain.state} root`;
      add({ id: "chain", status: same ? "pass" : "fail", text: `The contract's ${held} for epoch ${epoch} is ${chain.root}: it ${same ? "equals" : "DIFFERS from"} the file's root.` });
    }
    if (chain.dataHash) {
      const same = chain.dataHash.toLowerCase() === fileHash;
      add({ id: "data-hash", status: same ? "pass" : "fail", text: `The contract recorded data hash ${chain.dataHash} for this epoch: the file's bytes ${same ? "match it" : "do NOT match it"}.` });
    } else add({ id: "data-hash", status: "skipped", text: "No RootProposed event found for this epoch, so the file's hash was not compared." });
  }

  const badLeaf = firstBadLeaf([...continuity, ...tree.findings], file);
  const failed = checks.filter((c) => c.status === "fail");
  if (failed.length > 0) {
    const leavesAtFault = tree.findings.some((f) => f.startsWith("root mismatch"));
    const why = leavesAtFault
      ? `the file's root does not match its own leaves${badLeaf ? `; first differing leaf: #${badLeaf.index} (${badLeaf.account})` : ""}`
      : failed.map((c) => c.text).join(" ");
    return finish("fail", `Audit failed: ${why}.`, badLeaf, chain);
  }
  if (!chain) return finish("incomplete", "The file is consistent, but the root on chain could not be read: the audit is not complete.", null, chain);
  return finish("pass", `Root matches: the contract's root for epoch ${epoch} is exactly the tree of this file's leaves.`, null, chain);
}
