import { randomBytes, randomInt } from "node:crypto";
import { serializeTransaction } from "../pow/block";
import { hashToDisplayHex, sha256d } from "../pow/hash";
import type { TemplateTransaction } from "./types";

/**
 * A random but well-formed transaction, as a mempool would hold: one input spending a random
 * outpoint, one or two P2WPKH outputs, and (when `segwit`) a P2WPKH-style witness so that its
 * wtxid differs from its txid. Nothing checks the spent outputs: the embedded chain has no UTXO set.
 */
export function syntheticTransaction(segwit: boolean): TemplateTransaction {
  const outputs = Array.from({ length: randomInt(1, 3) }, () => ({
    value: BigInt(randomInt(546, 100_000_000)),
    script: Buffer.concat([Buffer.from([0x00, 0x14]), randomBytes(20)]),
  }));
  const tx = {
    version: 2,
    inputs: [
      {
        prevTxid: randomBytes(32).toString("hex"),
        vout: randomInt(0, 4),
        scriptSig: segwit ? Buffer.alloc(0) : Buffer.concat([Buffer.from([0x47]), randomBytes(71), Buffer.from([0x21]), randomBytes(33)]),
        sequence: 0xfffffffd,
        witness: segwit ? [randomBytes(71), randomBytes(33)] : [],
      },
    ],
    outputs,
    locktime: 0,
  };
  const raw = serializeTransaction(tx, true);
  const nonWitness = segwit ? serializeTransaction(tx, false) : raw;
  return {
    data: raw.toString("hex"),
    txid: hashToDisplayHex(sha256d(nonWitness)),
    hash: hashToDisplayHex(sha256d(raw)),
    fee: BigInt(randomInt(1_000, 50_000)),
  };
}

/** n synthetic transactions, alternating segwit and legacy. */
export function syntheticTransactions(n: number): TemplateTransaction[] {
  return Array.from({ length: n }, (_, i) => syntheticTransaction(i % 2 === 0));
}
