/**
 * coinb1's commitments read in place (locateCommitments, and coinbaseCommitments,
 * coinbaseCommitmentsOfBytes, coinbaseHeight over it, src/pow/coinbase.ts) against the plain
 * parser they replaced: a ByteReader over the coinbase's start, the scriptSig cut out, then the
 * BIP34 height, the 20-byte address push and the optional minimal difficulty push read from it.
 * On built coinb1s with random heights, addresses, difficulties and tags, every truncation of them,
 * random byte changes, 0xfd/0xfe/0xff scriptSig lengths (one above 2^53), embedded in larger
 * buffers, and empty or non-hex input.
 */
import { expect } from "chai";
import { randomBytes } from "node:crypto";
import {
  MAX_DIFFICULTY_COMMITMENT_BYTES,
  buildCoinbaseParts,
  coinbaseCommitments,
  coinbaseCommitmentsOfBytes,
  coinbaseHeight,
  locateCommitments,
  readBip34Height,
  type CoinbaseCommitments,
  type CommitmentPlaces,
} from "../src/pow/coinbase";
import { ByteReader, isHex } from "../src/pow/hex";

/** The BIP34 height push at the start of `script`, plainly. */
function refBip34(script: Buffer): { height: number; length: number } | undefined {
  if (script.length === 0) return undefined;
  const op = script[0];
  if (op === 0x00) return { height: 0, length: 1 };
  if (op >= 0x51 && op <= 0x60) return { height: op - 0x50, length: 1 };
  if (op < 0x01 || op > 0x04 || script.length < 1 + op) return undefined;
  if (script[op] & 0x80) return undefined; // negative
  let height = 0;
  for (let i = op; i >= 1; i--) height = height * 256 + script[i];
  return { height, length: 1 + op };
}

/** coinb1's scriptSig so far (to coinb1's end), plainly with a ByteReader; undefined when coinb1 does not start a coinbase. */
function refScriptSig(coinb1: Buffer): Buffer | undefined {
  try {
    const r = new ByteReader(coinb1);
    r.u32("version");
    if (r.u8("input count") !== 1) return undefined;
    if (!r.bytes(32, "prevout hash").equals(Buffer.alloc(32))) return undefined;
    if (r.u32("prevout index") !== 0xffffffff) return undefined;
    r.varInt("scriptSig length");
    return r.bytes(r.remaining);
  } catch {
    return undefined;
  }
}

function refCommitments(coinb1: Buffer): CoinbaseCommitments | undefined {
  const script = refScriptSig(coinb1);
  if (!script) return undefined;
  const h = refBip34(script);
  if (!h) return undefined;
  if (script.length < h.length + 21 || script[h.length] !== 0x14) return undefined;
  const address = "0x" + script.subarray(h.length + 1, h.length + 21).toString("hex");
  const at = h.length + 21;
  if (at >= script.length) return { height: h.height, address };
  const n = script[at];
  if (n < 1 || n > MAX_DIFFICULTY_COMMITMENT_BYTES || script.length < at + 1 + n || script[at + n] === 0) return { height: h.height, address };
  let units = 0n;
  for (let i = n; i >= 1; i--) units = (units << 8n) | BigInt(script[at + i]);
  return { height: h.height, address, shareDifficultyUnits: units };
}

function refHeight(coinb1: Buffer): number | undefined {
  const script = refScriptSig(coinb1);
  return script ? refBip34(script)?.height : undefined;
}

let cases = 0;

/** Every reader of the fast parser against the reference on `coinb1`, also inside a larger buffer. */
function check(coinb1: Buffer, what: string): void {
  cases++;
  const want = refCommitments(coinb1);
  const hex = coinb1.toString("hex");
  expect(coinbaseCommitmentsOfBytes(coinb1), `${what}: OfBytes ${hex}`).to.deep.equal(want);
  expect(coinbaseCommitments(hex), `${what}: hex ${hex}`).to.deep.equal(want);
  expect(coinbaseCommitments(hex.toUpperCase()), `${what}: upper-case hex ${hex}`).to.deep.equal(want);
  expect(coinbaseHeight(hex), `${what}: height ${hex}`).to.equal(refHeight(coinb1));
  const script = refScriptSig(coinb1);
  if (script) expect(readBip34Height(script), `${what}: readBip34Height ${hex}`).to.deep.equal(refBip34(script));

  // In place, inside a larger buffer (as the audit reads it inside the built coinbase), as a plain Uint8Array.
  const before = randomBytes(Math.floor(Math.random() * 9));
  const big = new Uint8Array(Buffer.concat([before, coinb1, randomBytes(1 + Math.floor(Math.random() * 40))]));
  const at: CommitmentPlaces = { height: -1, address: -1, units: -1, unitsLength: -1 };
  const found = locateCommitments(big, before.length, before.length + coinb1.length, at);
  expect(found, `${what}: locateCommitments ${hex}`).to.equal(want !== undefined);
  if (want) {
    const o = before.length;
    expect(at.height).to.equal(want.height);
    expect("0x" + Buffer.from(big.subarray(at.address, at.address + 20)).toString("hex")).to.equal(want.address);
    if (want.shareDifficultyUnits === undefined) expect(at.unitsLength, `${what}: no units ${hex}`).to.equal(0);
    else {
      expect(at.unitsLength).to.be.within(1, MAX_DIFFICULTY_COMMITMENT_BYTES);
      expect(at.units + at.unitsLength).to.be.at.most(o + coinb1.length);
      let units = 0n;
      for (let i = at.unitsLength - 1; i >= 0; i--) units = (units << 8n) | BigInt(big[at.units + i]);
      expect(units).to.equal(want.shareDifficultyUnits);
    }
  }
}

function randomHeight(): number {
  const r = Math.random();
  if (r < 0.1) return Math.floor(Math.random() * 17);
  if (r < 0.2) return [17, 127, 128, 255, 256, 32767, 32768, 65535, 65536, 8388607, 8388608, 0x7fffffff][Math.floor(Math.random() * 12)];
  return Math.floor(Math.random() * 2 ** (1 + Math.floor(Math.random() * 31)));
}

function randomUnits(): bigint {
  const bytes = 1 + Math.floor(Math.random() * MAX_DIFFICULTY_COMMITMENT_BYTES);
  let u = BigInt("0x" + randomBytes(bytes).toString("hex"));
  if (Math.random() < 0.1) u = (1n << BigInt(8 * bytes)) - 1n;
  if (Math.random() < 0.1) u = 1n << BigInt(8 * bytes - 1);
  return u === 0n ? 1n : u;
}

function randomCoinb1(): Buffer {
  const address = "0x" + randomBytes(20).toString("hex");
  const { coinb1 } = buildCoinbaseParts({
    height: randomHeight(),
    payoutAddress: Math.random() < 0.3 ? address.toUpperCase().replace("0X", "0x") : address,
    shareDifficultyUnits: randomUnits(),
    poolTag: Math.random() < 0.5 ? "/pool-" + randomBytes(Math.floor(Math.random() * 12)).toString("hex").slice(0, 20) + "/" : undefined,
    extranonce1Size: Math.floor(Math.random() * 9),
    extranonce2Size: 1 + Math.floor(Math.random() * 8),
    outputs: [{ value: 5000000000n, script: Buffer.from("51", "hex") }],
  });
  return Buffer.from(coinb1, "hex");
}

/** A coinb1 with its scriptSig length written as the varint `len` (the scriptSig bytes are `script`). */
function withLength(len: Buffer, script: Buffer): Buffer {
  return Buffer.concat([Buffer.from("01000000", "hex"), Buffer.from([1]), Buffer.alloc(32), Buffer.from("ffffffff", "hex"), len, script]);
}

describe("pow: coinb1's commitments read in place equal the plain parser", () => {
  after(() => console.log(`      (${cases} coinb1s compared)`));

  it("on built coinb1s with random heights, addresses, difficulties and tags, and every truncation of them", () => {
    for (let i = 0; i < 400; i++) {
      const c = randomCoinb1();
      const want = refCommitments(c);
      expect(want, "a built coinb1 has its commitments").to.not.equal(undefined);
      expect(want!.shareDifficultyUnits).to.not.equal(undefined);
      for (let n = 0; n <= c.length; n++) check(c.subarray(0, n), `round ${i} truncated to ${n}`);
    }
  });

  it("on random byte changes of built coinb1s, and random appended bytes", () => {
    for (let i = 0; i < 3000; i++) {
      const c = Buffer.from(randomCoinb1());
      const flips = 1 + Math.floor(Math.random() * 3);
      for (let f = 0; f < flips; f++) {
        const j = Math.min(c.length - 1, Math.random() < 0.6 ? 41 + Math.floor(Math.random() * Math.max(1, c.length - 41)) : Math.floor(Math.random() * c.length));
        const r = Math.random();
        c[j] = r < 0.3 ? c[j] ^ (1 << Math.floor(Math.random() * 8)) : r < 0.5 ? [0, 0x14, 0x80, 0xff, 0x10, 0x11, 0x51, 0x60, 0x4f, 0x05][Math.floor(Math.random() * 10)] : Math.floor(Math.random() * 256);
      }
      check(c, `flip round ${i}`);
      check(Buffer.concat([c, randomBytes(Math.floor(Math.random() * 20))]), `flip+append round ${i}`);
    }
  });

  it("on hostile scriptSigs: every height opcode, address pushes of other lengths, difficulty pushes of 0..17 bytes, non-minimal and zero", () => {
    const address = randomBytes(20);
    const heights: Buffer[] = [];
    for (let op = 0; op < 256; op++) heights.push(Buffer.from([op]), Buffer.concat([Buffer.from([op]), randomBytes(4)]));
    heights.push(Buffer.from([4, 0xff, 0xff, 0xff, 0x7f]), Buffer.from([4, 0xff, 0xff, 0xff, 0x80]), Buffer.from([3, 0, 0, 0]), Buffer.from([2, 0x80, 0x00]));
    for (const h of heights) {
      for (const pushOp of [0x13, 0x14, 0x15]) {
        const addr = Buffer.concat([Buffer.from([pushOp]), address]);
        check(withLength(Buffer.from([60]), Buffer.concat([h, addr])), `height ${h.toString("hex")} push ${pushOp}`);
        for (let n = 0; n <= MAX_DIFFICULTY_COMMITMENT_BYTES + 1; n++) {
          const units = randomBytes(n);
          if (n > 0 && units[n - 1] === 0) units[n - 1] = 1;
          check(withLength(Buffer.from([60]), Buffer.concat([h, addr, Buffer.from([n]), units])), `units ${n}`);
          if (n > 0) {
            const nonMinimal = Buffer.from(units);
            nonMinimal[n - 1] = 0;
            check(withLength(Buffer.from([60]), Buffer.concat([h, addr, Buffer.from([n]), nonMinimal])), `non-minimal units ${n}`);
            check(withLength(Buffer.from([60]), Buffer.concat([h, addr, Buffer.from([n]), units.subarray(0, n - 1)])), `short units ${n}`);
          }
        }
      }
    }
  });

  it("on 0xfd/0xfe/0xff scriptSig lengths (one above 2^53), short varints, other inputs and prevouts, empty and non-hex input", () => {
    const script = Buffer.concat([Buffer.from([3, 0x40, 0x42, 0x0f, 0x14]), randomBytes(20), Buffer.from([2, 0x34, 0x12])]);
    const lengths: Buffer[] = [
      Buffer.from([0x00]),
      Buffer.from([0xfc]),
      Buffer.from([0xfd, 0x00, 0x00]),
      Buffer.from([0xfd, 0xff, 0xff]),
      Buffer.from([0xfe, 0x01, 0x02, 0x03, 0x04]),
      Buffer.from([0xff, 0, 0, 0, 0, 0, 0, 0, 0]),
      Buffer.from([0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0x1f, 0x00]), // 2^53 - 1
      Buffer.from([0xff, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x20, 0x00]), // 2^53
      Buffer.from([0xff, 0x01, 0x00, 0x00, 0x00, 0x00, 0x00, 0x20, 0x00]), // 2^53 + 1
      Buffer.from([0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff]),
      Buffer.from([0xff, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x80]),
      Buffer.from([0xff, 0x00, 0x00, 0x00, 0x00, 0xff, 0xff, 0x1f, 0x00]),
      Buffer.from([0xff, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x01]),
    ];
    for (let i = 0; i < 200; i++) {
      const l = Buffer.alloc(1 + Math.floor(Math.random() * 8));
      l[0] = 0xfd + Math.floor(Math.random() * 3);
      lengths.push(Buffer.concat([l, randomBytes(8)]).subarray(0, [3, 5, 9][l[0] - 0xfd]));
    }
    for (const len of lengths) {
      const c = withLength(len, script);
      for (let n = 0; n <= c.length; n++) check(c.subarray(0, n), `length ${len.toString("hex")} truncated to ${n}`);
    }
    // 2^53 and above: the plain ByteReader throws (unreadable); exactly 2^53 - 1 is read.
    expect(refCommitments(withLength(lengths[7], script))).to.equal(undefined);
    expect(refCommitments(withLength(lengths[6], script))).to.not.equal(undefined);

    const base = withLength(Buffer.from([30]), script);
    for (const [offset, values] of [
      [4, [0, 2, 0xff]], // input count
      [5, [1, 0x80]], // prevout hash
      [36, [1, 0x80]],
      [37, [0xfe, 0x00]], // prevout index
      [40, [0xfe, 0x7f]],
    ] as const) {
      for (const v of values) {
        const c = Buffer.from(base);
        c[offset] = v;
        check(c, `byte ${offset} = ${v}`);
      }
    }
    check(Buffer.alloc(0), "empty");
    expect(coinbaseCommitments("")).to.equal(undefined);
    expect(coinbaseHeight("")).to.equal(undefined);
    for (const bad of [base.toString("hex") + "0", "zz" + base.toString("hex").slice(2), base.toString("hex").slice(0, -1) + "g", " " + base.toString("hex")]) {
      expect(isHex(bad)).to.equal(false);
      expect(coinbaseCommitments(bad)).to.equal(undefined);
      expect(coinbaseHeight(bad)).to.equal(undefined);
    }
    // A random byte string is almost never a coinbase; a random one after the fixed prefix often has a height.
    for (let i = 0; i < 3000; i++) {
      check(randomBytes(Math.floor(Math.random() * 80)), `random ${i}`);
      check(withLength(Buffer.from([Math.floor(Math.random() * 256)]), randomBytes(Math.floor(Math.random() * 50))), `random script ${i}`);
    }
  });
});
