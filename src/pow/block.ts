import { sha256d, hashToDisplayHex, displayHexToInternal } from "./hash";
import { ByteReader, encodeVarInt, hexToBuffer } from "./hex";
import { merkleRootOfTxids } from "./merkle";
import type { TxOutput } from "./coinbase";

export interface TxInput {
  /** Display hex of the spent txid (all zeros for a coinbase). */
  prevTxid: string;
  vout: number;
  scriptSig: Buffer;
  sequence: number;
  witness: Buffer[];
}

export interface ParsedTransaction {
  version: number;
  inputs: TxInput[];
  outputs: TxOutput[];
  locktime: number;
  hasWitness: boolean;
  /** Serialized bytes exactly as in the block. */
  raw: Buffer;
  /** Display hex. */
  txid: string;
  wtxid: string;
}

export interface ParsedBlock {
  header: Buffer;
  version: number;
  /** Display hex. */
  prevHash: string;
  /** Display hex (as block explorers show it). */
  merkleRoot: string;
  time: number;
  /** 8 hex BE. */
  bits: string;
  nonce: number;
  /** Block hash, display hex. */
  hash: string;
  /** All transactions, coinbase first. */
  transactions: ParsedTransaction[];
  coinbase: ParsedTransaction;
}

const WITNESS_RESERVED_VALUE = Buffer.alloc(32);
const COMMITMENT_PREFIX = Buffer.from("6a24aa21a9ed", "hex");

/** Serializes a transaction, with witness data (BIP144) when asked and present. */
export function serializeTransaction(tx: Omit<ParsedTransaction, "raw" | "txid" | "wtxid" | "hasWitness">, withWitness: boolean): Buffer {
  const hasWitness = withWitness && tx.inputs.some((i) => i.witness.length > 0);
  const parts: Buffer[] = [];
  const u32 = (n: number) => {
    const b = Buffer.alloc(4);
    b.writeUInt32LE(n >>> 0);
    return b;
  };
  parts.push(u32(tx.version));
  if (hasWitness) parts.push(Buffer.from([0x00, 0x01]));
  parts.push(encodeVarInt(tx.inputs.length));
  for (const i of tx.inputs) {
    parts.push(displayHexToInternal(i.prevTxid, "prevTxid"), u32(i.vout), encodeVarInt(i.scriptSig.length), i.scriptSig, u32(i.sequence));
  }
  parts.push(encodeVarInt(tx.outputs.length));
  for (const o of tx.outputs) {
    const v = Buffer.alloc(8);
    v.writeBigUInt64LE(o.value);
    parts.push(v, encodeVarInt(o.script.length), o.script);
  }
  if (hasWitness) {
    for (const i of tx.inputs) {
      parts.push(encodeVarInt(i.witness.length));
      for (const item of i.witness) parts.push(encodeVarInt(item.length), item);
    }
  }
  parts.push(u32(tx.locktime));
  return Buffer.concat(parts);
}

/** Reads one transaction (with or without BIP144 witness data) at the reader's position. */
export function readTransaction(r: ByteReader): ParsedTransaction {
  const start = r.offset;
  const version = r.u32("tx version");
  let hasWitness = false;
  let count = r.varInt("input count");
  if (count === 0) {
    const flag = r.u8("segwit flag");
    if (flag !== 0x01) throw new RangeError(`bad segwit flag ${flag}`);
    hasWitness = true;
    count = r.varInt("input count");
  }
  if (count === 0) throw new RangeError("transaction has no inputs");
  const bodyStart = hasWitness ? start + 6 : start + 4;
  const inputs: TxInput[] = [];
  for (let k = 0; k < count; k++) {
    const prev = r.bytes(32, "prevout hash");
    const vout = r.u32("prevout index");
    const scriptSig = r.bytes(r.varInt("scriptSig length"), "scriptSig");
    const sequence = r.u32("sequence");
    inputs.push({ prevTxid: hashToDisplayHex(prev), vout, scriptSig, sequence, witness: [] });
  }
  const outCount = r.varInt("output count");
  const outputs: TxOutput[] = [];
  for (let k = 0; k < outCount; k++) {
    const value = r.u64("output value");
    const script = r.bytes(r.varInt("output script length"), "output script");
    outputs.push({ value, script });
  }
  const bodyEnd = r.offset;
  if (hasWitness) {
    for (const input of inputs) {
      const items = r.varInt("witness item count");
      for (let k = 0; k < items; k++) input.witness.push(r.bytes(r.varInt("witness item length"), "witness item"));
    }
  }
  const locktime = r.u32("locktime");
  const raw = r.buf.subarray(start, r.offset);
  const nonWitness = hasWitness
    ? Buffer.concat([raw.subarray(0, 4), r.buf.subarray(bodyStart, bodyEnd), raw.subarray(raw.length - 4)])
    : raw;
  const txid = hashToDisplayHex(sha256d(nonWitness));
  const wtxid = hasWitness ? hashToDisplayHex(sha256d(raw)) : txid;
  return { version, inputs, outputs, locktime, hasWitness, raw, txid, wtxid };
}

/** Parses one raw transaction (hex). */
export function parseTransaction(hex: string): ParsedTransaction {
  const r = new ByteReader(hexToBuffer(hex, "transaction"));
  const tx = readTransaction(r);
  if (r.remaining !== 0) throw new RangeError(`${r.remaining} trailing bytes after transaction`);
  return tx;
}

/**
 * Full block hex. With a witness commitment the coinbase goes in with the segwit marker/flag and
 * the 32-zero-byte witness reserved value, as BIP141 requires.
 */
export function serializeBlock(
  header: Buffer,
  coinbase: Buffer,
  transactions: { data: string }[],
  hasWitnessCommitment: boolean,
): string {
  if (!Buffer.isBuffer(header) || header.length !== 80) throw new RangeError("header must be 80 bytes");
  if (!Buffer.isBuffer(coinbase) || coinbase.length < 60) throw new RangeError("coinbase too short");
  const cb = hasWitnessCommitment
    ? Buffer.concat([
        coinbase.subarray(0, 4),
        Buffer.from([0x00, 0x01]),
        coinbase.subarray(4, coinbase.length - 4),
        Buffer.from([0x01, 0x20]),
        WITNESS_RESERVED_VALUE,
        coinbase.subarray(coinbase.length - 4),
      ])
    : coinbase;
  return (
    header.toString("hex") +
    encodeVarInt(1 + transactions.length).toString("hex") +
    cb.toString("hex") +
    transactions.map((t, i) => {
      if (typeof t.data !== "string" || !/^(?:[0-9a-fA-F]{2})+$/.test(t.data)) throw new RangeError(`transactions[${i}].data is not hex`);
      return t.data;
    }).join("")
  );
}

/** Deserializes a block: header fields, coinbase and every transaction (throws RangeError if malformed). */
export function parseBlock(hex: string): ParsedBlock {
  const buf = hexToBuffer(hex, "block");
  if (buf.length < 81) throw new RangeError("block shorter than a header");
  const header = buf.subarray(0, 80);
  const r = new ByteReader(buf, 80);
  const count = r.varInt("transaction count");
  if (count === 0) throw new RangeError("block has no transactions");
  if (count > buf.length) throw new RangeError(`transaction count ${count} exceeds block size`);
  const transactions: ParsedTransaction[] = [];
  for (let k = 0; k < count; k++) transactions.push(readTransaction(r));
  if (r.remaining !== 0) throw new RangeError(`${r.remaining} trailing bytes after the last transaction`);
  return {
    header,
    version: header.readUInt32LE(0),
    prevHash: hashToDisplayHex(header.subarray(4, 36)),
    merkleRoot: hashToDisplayHex(header.subarray(36, 68)),
    time: header.readUInt32LE(68),
    bits: header.readUInt32LE(72).toString(16).padStart(8, "0"),
    nonce: header.readUInt32LE(76),
    hash: hashToDisplayHex(sha256d(header)),
    transactions,
    coinbase: transactions[0],
  };
}

/** The merkle root (display hex) computed from a parsed block's transactions. */
export function computeMerkleRoot(block: ParsedBlock): string {
  return hashToDisplayHex(merkleRootOfTxids(block.transactions.map((t) => displayHexToInternal(t.txid))));
}

/** Witness commitment output script for transactions with these wtxids (display hex; the coinbase's is 0). */
export function witnessCommitmentScript(wtxids: string[]): Buffer {
  const leaves = [Buffer.alloc(32), ...wtxids.map((w, i) => displayHexToInternal(w, `wtxid[${i}]`))];
  const commitment = sha256d(Buffer.concat([merkleRootOfTxids(leaves), WITNESS_RESERVED_VALUE]));
  return Buffer.concat([COMMITMENT_PREFIX, commitment]);
}

/** BIP141 check of a parsed block; returns a bitcoind-style reject reason, or undefined when valid. */
export function checkWitnessCommitment(block: ParsedBlock): string | undefined {
  const cb = block.coinbase;
  let commitment: Buffer | undefined;
  for (const out of cb.outputs) {
    if (out.script.length >= 38 && out.script.subarray(0, 6).equals(COMMITMENT_PREFIX)) commitment = out.script.subarray(6, 38);
  }
  if (!commitment) {
    return block.transactions.some((t) => t.hasWitness) ? "unexpected-witness" : undefined;
  }
  const witness = cb.inputs[0]?.witness ?? [];
  if (witness.length !== 1 || witness[0].length !== 32) return "bad-witness-nonce-size";
  const leaves = [Buffer.alloc(32), ...block.transactions.slice(1).map((t) => displayHexToInternal(t.wtxid))];
  const expected = sha256d(Buffer.concat([merkleRootOfTxids(leaves), witness[0]]));
  return expected.equals(commitment) ? undefined : "bad-witness-merkle-match";
}
