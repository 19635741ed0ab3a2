import { expect } from "chai";
import fs from "node:fs";
import type { BuiltEpoch } from "../src/epochs";
import type { LedgerDelta, LedgerDeltaList } from "../src/shares";

/** A ledger-change list (an array, or the worker's packed columns) as plain objects. */
export function deltasOf(list: LedgerDeltaList): LedgerDelta[] {
  return Array.from({ length: list.length }, (_, i) => list.at(i)!);
}

/** Two builds of one epoch (in-process and on the worker, or cold and warm) gave the same files and figures. */
export function expectSameFiles(a: BuiltEpoch, b: BuiltEpoch): void {
  expect(b.dataHash).to.equal(a.dataHash);
  expect(b.root).to.equal(a.root);
  expect(fs.readFileSync(b.filePath).equals(fs.readFileSync(a.filePath)), "epoch file bytes").to.equal(true);
  expect(fs.readFileSync(b.shareLogPath).equals(fs.readFileSync(a.shareLogPath)), "share log bytes").to.equal(true);
  expect(b.totalCumulative).to.equal(a.totalCumulative);
  expect(b.reward).to.equal(a.reward);
  expect(b.blocks).to.deep.equal(a.blocks);
  expect(deltasOf(b.deltas)).to.deep.equal(deltasOf(a.deltas));
}
