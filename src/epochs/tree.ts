import fs from "node:fs";
import { PayoutTree } from "../merkle";
import { parseEpochFile, type EpochFile } from "./format";

/**
 * The payout tree of a published epoch file (what the API serves proofs from), checked against
 * the root the file states.
 */
export function loadEpochTree(source: string | EpochFile): { file: EpochFile; tree: PayoutTree } {
  const file = typeof source === "string" ? parseEpochFile(fs.readFileSync(source)) : source;
  const tree = PayoutTree.fromSorted(file.leaves.accounts, file.leaves.cumulative);
  if (tree.root !== file.root.toLowerCase()) throw new Error(`epoch ${file.epoch}: the leaves give root ${tree.root}, the file states ${file.root}`);
  return { file, tree };
}
