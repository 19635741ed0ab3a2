/**
 * The FPPS fee figure from a real Bitcoin Core (regtest; found through $BITCOIND or PATH, skipped
 * with the reason printed when there is none): `getblockstats` totalfee, as the pool's bitcoind
 * source reads it for its credits and the auditor's own node reads it for its recomputation.
 */
import { expect } from "chai";
import { BitcoindSource } from "../src/chain";
import { BitcoindHeaderChain } from "../src/audit/powchain-bitcoind";
import { FeeWindows } from "../src/schemes/fees";
import { REGTEST_SUBSIDY } from "../src/schemes/credit";
import { findBitcoind, KEY1, spendToKey1, startRegtestNode, type RegtestNode } from "./bitcoind.helpers";

describe("FPPS fees from a real Bitcoin Core (regtest getblockstats)", function () {
  this.timeout(120_000);
  let node: RegtestNode;

  before(async function () {
    const found = findBitcoind();
    if ("reason" in found) {
      console.log(`      skipping the real-node tests: ${found.reason}`);
      this.skip();
    }
    node = await startRegtestNode((found as { bin: string }).bin);
  });
  after(async () => {
    await node?.stop();
  });

  it("a block with a 12 345-sat fee: both readers give 12 345 at its height, 0 elsewhere, nothing above the tip", async () => {
    const hashes = await node.call<string[]>("generatetoaddress", 101, KEY1.address);
    const block1 = await node.call<{ tx: string[] }>("getblock", hashes[0], 1);
    const tx = await spendToKey1(node, { txid: block1.tx[0], vout: 0, valueSats: 5_000_000_000n }, 12_345n);
    await node.call("sendrawtransaction", tx.hex);
    await node.call("generatetoaddress", 1, KEY1.address); // height 102 holds the spend
    const source = new BitcoindSource({ url: node.url, user: node.user, password: node.password });
    const auditor = new BitcoindHeaderChain({ url: node.url, user: node.user, password: node.password });
    try {
      expect(await source.blockFees(102)).to.equal(12_345n);
      expect(await auditor.blockFees(102)).to.equal(12_345n);
      expect(await source.blockFees(50)).to.equal(0n);
      expect(await auditor.blockFees(103)).to.equal(undefined);
      expect(await source.blockFees(103)).to.equal(undefined);
      expect(await source.network()).to.equal("regtest");
      expect(await auditor.subsidySchedule()).to.deep.equal(REGTEST_SUBSIDY);
      // The fee window of a share mining height 103: blocks 1..102 (n = 102), 12 345 sat in all.
      const w = new FeeWindows((h) => auditor.blockFees(h));
      expect(await w.at(103)).to.deep.equal({ sum: 12_345n, blocks: 102 });
    } finally {
      auditor.close();
      await source.stop().catch(() => undefined);
    }
  });
});
