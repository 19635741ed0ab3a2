/**
 * AddressKeyLookup (src/epochs/addresskeys.ts), the audit workers' read-only view of AddressKeys'
 * shared tables, against the owner's own keyOfBytes: every canonical address keyed before the view
 * gets the owner's key; an address keyed after the view (also past the tables' growth), never
 * keyed, or only keyed under another spelling gets -1, never a wrong key; on random and hostile
 * addresses (a long shared prefix, one differing byte, the zero address, upper-case text), on this
 * thread and on a worker thread the view was posted to.
 */
import { expect } from "chai";
import { randomBytes } from "node:crypto";
import { Worker } from "node:worker_threads";
import path from "node:path";
import { AddressKeyLookup, AddressKeys, type AddressKeysView } from "../src/epochs/addresskeys";

const hex = (b: Uint8Array) => "0x" + Buffer.from(b).toString("hex");

/** Keys `addrs` in `keys`, alternately by text (keyOf) and by bytes (keyOfBytes, some inside a larger buffer). */
function keyAll(keys: AddressKeys, addrs: Buffer[]): number[] {
  return addrs.map((a, i) => {
    if (i % 3 === 0) return keys.keyOf(hex(a));
    if (i % 3 === 1) return keys.keyOfBytes(a, 0);
    const big = Buffer.concat([randomBytes(5), a, randomBytes(3)]);
    return keys.keyOfBytes(big, 5);
  });
}

/** The lookup of every address (some read inside a larger buffer, at an offset). */
function lookAll(lookup: AddressKeyLookup, addrs: Buffer[]): number[] {
  return addrs.map((a, i) => (i % 2 === 0 ? lookup.keyOfBytes(a, 0) : lookup.keyOfBytes(Buffer.concat([Buffer.alloc(11, 0xee), a]), 11)));
}

/** A copy of `a` with byte `j` changed by `x`. */
function flip(a: Buffer, j: number, x = 1): Buffer {
  const b = Buffer.from(a);
  b[j] ^= x;
  return b;
}

describe("epochs: AddressKeyLookup answers the keys given before its view, and only those", () => {
  it("a non-shared AddressKeys has no view; a shared one has one until its tables grow", () => {
    expect(new AddressKeys().view()).to.equal(null);
    expect(new AddressKeys(10, false).view()).to.equal(null);
    const shared = new AddressKeys(512, true);
    const v = shared.view();
    expect(v).to.not.equal(null);
    expect(v!.slots.buffer).to.be.instanceOf(SharedArrayBuffer);
    expect(v!.bytes.buffer).to.be.instanceOf(SharedArrayBuffer);
    expect(v!.keys).to.equal(0);
    // An empty view answers nothing.
    const empty = new AddressKeyLookup(v!);
    for (let i = 0; i < 200; i++) expect(empty.keyOfBytes(randomBytes(20), 0)).to.equal(-1);
    expect(empty.keyOfBytes(Buffer.alloc(20), 0)).to.equal(-1);
    // The slot table (1024 slots for 512 expected) grows past half load, at the 513th canonical address: no view after that.
    for (let i = 0; i < 512; i++) shared.keyOfBytes(randomBytes(20), 0);
    expect(shared.view()).to.not.equal(null);
    shared.keyOfBytes(randomBytes(20), 0);
    expect(shared.view()).to.equal(null);
    // The byte table grows at 1024 keys, of any spelling (other spellings take keys but no slots).
    const others = new AddressKeys(1024, true);
    for (let i = 0; i < 1024; i++) others.keyOf(`not-an-address-${i}`);
    expect(others.view()).to.not.equal(null);
    others.keyOf(hex(randomBytes(20)));
    expect(others.view()).to.equal(null);
  });

  it("on random addresses: the owner's key before the view, -1 for those keyed after it (across growth) and never keyed", () => {
    for (const [expected, before, after] of [
      [1024, 300, 3000],
      [16, 1, 5000],
      [4096, 2000, 9000],
      [512, 512, 600],
      [1024, 0, 100],
    ] as const) {
      const keys = new AddressKeys(expected, true);
      const early = Array.from({ length: before }, () => randomBytes(20));
      const earlyKeys = keyAll(keys, early);
      expect(earlyKeys).to.deep.equal(early.map((_, i) => i));
      const view = keys.view()!;
      expect(view.keys).to.equal(before);
      const lookup = new AddressKeyLookup(view);
      const never = Array.from({ length: 500 }, () => randomBytes(20));
      expect(lookAll(lookup, early), "before any more keys").to.deep.equal(early.map((a) => keys.keyOfBytes(a, 0)));
      expect(lookAll(lookup, never)).to.deep.equal(never.map(() => -1));

      // The owner goes on keying (through slot growth at half load and byte growth past `expected`),
      // also the early ones again by either spelling; the view answers what it did, and nothing new.
      const late: Buffer[] = [];
      for (let done = 0; done < after; ) {
        const batch = Array.from({ length: Math.min(after - done, 1 + Math.floor(Math.random() * 700)) }, () => randomBytes(20));
        const batchKeys = keyAll(keys, batch);
        expect(batchKeys).to.deep.equal(batch.map((_, i) => before + done + i));
        late.push(...batch);
        done += batch.length;
        keyAll(keys, early.slice(0, 20));
        expect(lookAll(lookup, early), `early after ${done} more`).to.deep.equal(earlyKeys);
        expect(lookAll(lookup, batch), `late after ${done} more`).to.deep.equal(batch.map(() => -1));
      }
      expect(lookAll(lookup, late)).to.deep.equal(late.map(() => -1));
      expect(lookAll(lookup, never)).to.deep.equal(never.map(() => -1));
      expect(keys.size).to.equal(before + after);
    }
  });

  it("a later view answers more keys; the earlier view still answers only its own", () => {
    const keys = new AddressKeys(4096, true);
    const a = Array.from({ length: 500 }, () => randomBytes(20));
    const b = Array.from({ length: 500 }, () => randomBytes(20));
    keyAll(keys, a);
    const first = new AddressKeyLookup(keys.view()!);
    keyAll(keys, b);
    const second = new AddressKeyLookup(keys.view()!);
    expect(lookAll(first, a)).to.deep.equal(a.map((_, i) => i));
    expect(lookAll(first, b)).to.deep.equal(b.map(() => -1));
    expect(lookAll(second, a)).to.deep.equal(a.map((_, i) => i));
    expect(lookAll(second, b)).to.deep.equal(b.map((_, i) => 500 + i));
  });

  it("on hostile addresses: a long shared prefix, one differing byte, the zero address, other spellings", () => {
    const keys = new AddressKeys(1024, true);
    // 300 addresses sharing 18 bytes, keyed by text and by bytes.
    const prefix: Buffer[] = [];
    for (let i = 0; i < 300; i++) {
      const b = Buffer.alloc(20, 0xab);
      b.writeUInt16BE(i, 18);
      prefix.push(b);
    }
    keyAll(keys, prefix);
    const zero = Buffer.alloc(20);
    const ones = Buffer.alloc(20, 0xff);
    const zeroKey = keyAll(keys, [zero])[0];
    const onesKey = keys.keyOf(hex(ones));
    // Keyed only by a non-canonical spelling (upper case, no 0x, 0X): kept as strings, not in the byte table.
    const upper = randomBytes(20);
    const upperText = "0x" + upper.toString("hex").toUpperCase();
    const upperKey = keys.keyOf(upperText);
    const bare = randomBytes(20);
    keys.keyOf(bare.toString("hex"));
    const bigX = randomBytes(20);
    keys.keyOf("0X" + bigX.toString("hex"));
    // A mixed-case spelling of an address that is also keyed canonically: two keys, the view answers the canonical one.
    const mixed = randomBytes(20);
    mixed[0] = 0xab;
    const mixedKey = keys.keyOfBytes(mixed, 0);
    const mixedTextKey = keys.keyOf("0xAb" + mixed.toString("hex").slice(2));
    keys.keyOf("");
    keys.keyOf("0x");

    const view = keys.view()!;
    const lookup = new AddressKeyLookup(view);
    const owner = (a: Buffer) => keys.keyOfBytes(a, 0);
    const before = keys.size;
    expect(lookAll(lookup, prefix)).to.deep.equal(prefix.map((_, i) => i));
    expect(lookup.keyOfBytes(zero, 0)).to.equal(zeroKey);
    expect(lookup.keyOfBytes(ones, 0)).to.equal(onesKey);
    expect(lookup.keyOfBytes(mixed, 0)).to.equal(mixedKey);
    expect(mixedTextKey).to.not.equal(mixedKey);
    expect(keys.keyOf(hex(mixed)), "the canonical text is the bytes' key").to.equal(mixedKey);
    // Not canonical, so not in the byte table: -1 from the view, and a new key from the owner.
    for (const b of [upper, bare, bigX]) expect(lookup.keyOfBytes(b, 0), hex(b)).to.equal(-1);
    expect(keys.size).to.equal(before);
    const upperBytesKey = owner(upper);
    expect(upperBytesKey).to.equal(before);
    expect(upperBytesKey).to.not.equal(upperKey);
    expect(lookup.keyOfBytes(upper, 0), "keyed by bytes after the view").to.equal(-1);

    // One differing byte, at every position and in several bits, from keyed addresses: -1 (none of these is keyed).
    const keyedHex = new Set(keys.addresses);
    for (const base of [prefix[0], prefix[299], prefix[150], zero, ones, mixed]) {
      for (let j = 0; j < 20; j++) {
        for (const x of [0x01, 0x80, 0xff]) {
          const f = flip(base, j, x);
          const got = lookup.keyOfBytes(f, 0);
          if (keyedHex.has(hex(f))) expect(got).to.equal(keys.addresses.indexOf(hex(f)));
          else expect(got, `${hex(f)}`).to.equal(-1);
        }
      }
    }
    // The shared prefix run past the keyed ones: -1, also after the owner keys them (past slot growth).
    const more: Buffer[] = [];
    for (let i = 300; i < 1500; i++) {
      const b = Buffer.alloc(20, 0xab);
      b.writeUInt16BE(i, 18);
      more.push(b);
    }
    expect(lookAll(lookup, more)).to.deep.equal(more.map(() => -1));
    keyAll(keys, more);
    expect(keys.view(), "grown: no longer shared").to.equal(null);
    expect(lookAll(lookup, more)).to.deep.equal(more.map(() => -1));
    expect(lookAll(lookup, prefix)).to.deep.equal(prefix.map(owner));
    expect(lookup.keyOfBytes(zero, 0)).to.equal(owner(zero));
  });
});

describe("epochs: AddressKeyLookup on a worker thread reads the shared tables", function () {
  this.timeout(120_000);

  /** Posts the view and the queries to a worker that looks them up `rounds` times; resolves with what it found. */
  function onWorker(view: AddressKeysView, queries: Uint8Array, rounds: number, whileWaiting?: () => void): Promise<{ shared: boolean; keys: number[]; stable: boolean }> {
    const module = path.join(__dirname, "..", "src", "epochs", "addresskeys.ts");
    const code = `
      require(${JSON.stringify(require.resolve("ts-node"))}).register({ transpileOnly: true, project: ${JSON.stringify(path.join(__dirname, "..", "tsconfig.json"))} });
      const { parentPort } = require("node:worker_threads");
      const { AddressKeyLookup } = require(${JSON.stringify(module)});
      parentPort.once("message", ({ view, queries, rounds }) => {
        parentPort.postMessage("started");
        const lookup = new AddressKeyLookup(view);
        const n = queries.length / 20;
        const keys = [];
        for (let i = 0; i < n; i++) keys.push(lookup.keyOfBytes(queries, i * 20));
        let stable = true;
        for (let r = 1; r < rounds; r++) for (let i = 0; i < n; i++) if (lookup.keyOfBytes(queries, i * 20) !== keys[i]) stable = false;
        const shared = view.slots.buffer instanceof SharedArrayBuffer && view.bytes.buffer instanceof SharedArrayBuffer;
        parentPort.postMessage({ shared, keys, stable });
      });
    `;
    const worker = new Worker(code, { eval: true });
    return new Promise((resolve, reject) => {
      let busy = true;
      const keepBusy = () => {
        if (!busy) return;
        whileWaiting?.();
        setImmediate(keepBusy);
      };
      worker.on("error", reject);
      worker.on("message", (m) => {
        if (m === "started") return keepBusy();
        busy = false;
        resolve(m);
        void worker.terminate();
      });
      worker.postMessage({ view, queries, rounds });
    });
  }

  it("the keys given before the view, -1 for the others, while the owner goes on keying (past growth)", async () => {
    const keys = new AddressKeys(1024, true);
    const early = Array.from({ length: 400 }, () => randomBytes(20));
    const earlyKeys = keyAll(keys, early);
    const upper = randomBytes(20);
    keys.keyOf("0x" + upper.toString("hex").toUpperCase());
    const view = keys.view()!;
    const late: Buffer[] = Array.from({ length: 200 }, () => randomBytes(20));
    const never = Array.from({ length: 200 }, () => randomBytes(20));
    const hostile = [Buffer.alloc(20), flip(early[0], 19), flip(early[1], 0), upper];
    const queries = Buffer.concat([...early, ...late, ...never, ...hostile]);
    // Before the worker starts, the owner keys the late ones (into the still-shared slots) and more: its slot table grows.
    for (const a of late) keys.keyOfBytes(a, 0);
    for (let i = 0; i < 1500; i++) keys.keyOfBytes(randomBytes(20), 0);
    expect(keys.view(), "grown").to.equal(null);
    let added = 0;
    const result = await onWorker(view, new Uint8Array(queries), 300, () => {
      // And goes on keying while the worker looks up.
      for (let i = 0; i < 20; i++, added++) keys.keyOfBytes(randomBytes(20), 0);
    });
    expect(result.shared, "the worker got shared tables, not copies").to.equal(true);
    expect(result.stable, "the same answers in every round").to.equal(true);
    expect(result.keys.slice(0, early.length)).to.deep.equal(earlyKeys);
    expect(result.keys.slice(0, early.length)).to.deep.equal(early.map((a) => keys.keyOfBytes(a, 0)));
    expect(result.keys.slice(early.length)).to.deep.equal([...late, ...never, ...hostile].map(() => -1));
    // And the same answers on this thread after the owner's growth.
    const lookup = new AddressKeyLookup(view);
    expect(lookAll(lookup, early)).to.deep.equal(earlyKeys);
    expect(lookAll(lookup, [...late, ...never, ...hostile])).to.deep.equal([...late, ...never, ...hostile].map(() => -1));
  });
});
