/**
 * AddressKeys (the auditor's address → key table, src/epochs/addresskeys.ts) against its plain
 * reference, a Map over the strings: the same key for every address, by text and by bytes, on
 * random addresses across growth and on hostile ones (a shared prefix, other spellings of one
 * address, the zero address).
 */
import { expect } from "chai";
import { randomBytes } from "node:crypto";
import { AddressKeys, ReferenceAddressKeys } from "../src/epochs/addresskeys";

function both(ops: (string | Buffer)[]): void {
  const fast = new AddressKeys(4);
  const ref = new ReferenceAddressKeys();
  for (const [n, op] of ops.entries()) {
    const a = typeof op === "string" ? fast.keyOf(op) : fast.keyOfBytes(op, 0);
    const b = typeof op === "string" ? ref.keyOf(op) : ref.keyOfBytes(op, 0);
    expect(a, `op ${n}: ${op.toString("hex")}`).to.equal(b);
  }
  expect(fast.addresses).to.deep.equal(ref.addresses);
  expect(fast.size).to.equal(ref.size);
}

describe("epochs: AddressKeys equals its plain reference", () => {
  it("on random addresses, by text and by bytes, repeated, across growth", () => {
    const pool = Array.from({ length: 5000 }, () => randomBytes(20));
    const ops: (string | Buffer)[] = [];
    for (let i = 0; i < 40_000; i++) {
      const a = pool[Math.floor(Math.random() * pool.length)];
      ops.push(Math.random() < 0.5 ? a : "0x" + a.toString("hex"));
    }
    both(ops);
  });

  it("on hostile addresses: a long shared prefix, upper-case and unprefixed spellings, the zero address", () => {
    const ops: (string | Buffer)[] = [];
    for (let i = 0; i < 3000; i++) {
      const b = Buffer.alloc(20, 0xab);
      b.writeUInt16BE(i, 18);
      ops.push(b, "0x" + b.toString("hex"));
      if (i % 7 === 0) ops.push("0x" + b.toString("hex").toUpperCase(), b.toString("hex"), "0X" + b.toString("hex"));
    }
    ops.push(Buffer.alloc(20), "0x" + "00".repeat(20), "", "0x", "0x" + "0".repeat(39));
    both(ops);
  });

  it("a byte address and a subarray of a larger buffer give the same key", () => {
    const k = new AddressKeys();
    const a = randomBytes(20);
    const big = Buffer.concat([randomBytes(7), a, randomBytes(5)]);
    expect(k.keyOfBytes(big, 7)).to.equal(k.keyOf("0x" + a.toString("hex")));
    expect(k.addresses).to.deep.equal(["0x" + a.toString("hex")]);
  });
});
