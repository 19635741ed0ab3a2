/** HeaderHashSet (the duplicate filter on the share path) against its plain reference. */
import { expect } from "chai";
import { randomBytes } from "node:crypto";
import fc from "fast-check";
import { HASH_ADDED, HASH_SET_FULL, HeaderHashSet, ReferenceHeaderHashSet, sha256d } from "../src/pow";

type Op = { kind: "add" | "has" | "get" | "delete"; hash: Buffer; value: number };

function run(ops: Op[], maxEntries?: number, maxLoad?: number) {
  const fast = new HeaderHashSet({ withValues: true, maxEntries, maxLoad });
  const ref = new ReferenceHeaderHashSet(maxEntries);
  ops.forEach((op, i) => {
    const a = op.kind === "add" ? fast.add(op.hash, op.value) : op.kind === "has" ? fast.has(op.hash) : op.kind === "get" ? fast.get(op.hash) : fast.delete(op.hash);
    const b = op.kind === "add" ? ref.add(op.hash, op.value) : op.kind === "has" ? ref.has(op.hash) : op.kind === "get" ? ref.get(op.hash) : ref.delete(op.hash);
    expect(a, `op ${i} ${op.kind} ${op.hash.toString("hex")}`).to.equal(b);
    expect(fast.size).to.equal(ref.size);
  });
}

/** Hashes that all land in the same home slot and differ only in one late byte: the worst case for probing. */
function colliding(n: number): Buffer[] {
  const out: Buffer[] = [];
  for (let i = 0; i < n; i++) {
    const h = Buffer.alloc(32, 0);
    h.writeUInt32LE(0x12345678, 0);
    h.writeUInt32LE(i, 12);
    out.push(h);
  }
  return out;
}

describe("pow: HeaderHashSet equals its plain reference", () => {
  it("on random sha256d hashes: add, re-add, has, get, delete, across growth", () => {
    const pool = Array.from({ length: 5000 }, (_, i) => sha256d(Buffer.from(`header ${i}`)));
    const ops: Op[] = [];
    for (let i = 0; i < 40_000; i++) {
      const r = Math.random();
      ops.push({ kind: r < 0.6 ? "add" : r < 0.75 ? "has" : r < 0.9 ? "get" : "delete", hash: pool[Math.floor(Math.random() * pool.length)], value: i });
    }
    run(ops);
    run(ops, undefined, 0.9); // the fullest table allowed: long probe runs
    expect(() => new HeaderHashSet({ maxLoad: 0.95 })).to.throw(/maxLoad must be in 0.5..0.9/);
  });

  it("grows without stopping: lookups read both tables while the old one moves over, a rare delete finishes the move first", () => {
    const pool = Array.from({ length: 60_000 }, (_, i) => sha256d(Buffer.from(`moving ${i}`)));
    for (const maxLoad of [0.5, 0.75, 0.9]) {
      const ops: Op[] = [];
      for (let i = 0; i < 50_000; i++) {
        const r = Math.random();
        // Mostly adds of new hashes, lookups of any, and a delete only every few thousand operations.
        const hash = r < 0.5 ? pool[Math.min(pool.length - 1, i >> 1)] : pool[Math.floor(Math.random() * pool.length)];
        ops.push({ kind: r < 0.5 ? "add" : r < 0.75 ? "get" : r < 0.9997 ? "has" : "delete", hash, value: i });
      }
      run(ops, undefined, maxLoad);
    }
    // Mid-move, both tables are held: just past a doubling, the bytes are the old table plus the new one.
    const set = new HeaderHashSet();
    let last = set.bytes;
    let sawMove = false;
    for (let i = 0; i < 20_000; i++) {
      set.add(pool[i]);
      if (set.bytes > 2 * last) sawMove = true;
      last = Math.max(last, set.bytes);
    }
    expect(sawMove, "a move under way holds both tables").to.equal(true);
    for (let i = 0; i < 20_000; i++) expect(set.has(pool[i])).to.equal(true);
    expect(set.has(pool[20_000])).to.equal(false);
  });

  it("on hostile hashes: one home slot for all, the all-zero hash, wrap-around at the table's end, deletes in the middle of a probe run", () => {
    const same = colliding(700);
    const zero = Buffer.alloc(32);
    const wrap = Array.from({ length: 50 }, (_, i) => {
      const h = randomBytes(32);
      h.writeUInt32LE(0xffffffff - (i % 3), 0); // home slots at the very end of the table
      return h;
    });
    const ops: Op[] = [];
    for (const h of [...same, zero, ...wrap]) ops.push({ kind: "add", hash: h, value: ops.length });
    for (let i = 0; i < same.length; i += 3) ops.push({ kind: "delete", hash: same[i], value: 0 });
    for (const h of [...same, zero, ...wrap]) ops.push({ kind: "get", hash: h, value: 0 }, { kind: "add", hash: h, value: 1 });
    for (let i = 0; i < wrap.length; i += 2) ops.push({ kind: "delete", hash: wrap[i], value: 0 });
    for (const h of [...same, ...wrap]) ops.push({ kind: "has", hash: h, value: 0 });
    run(ops);
    run(ops, undefined, 0.9);
  });

  it("property: any sequence of operations over a small hash alphabet agrees", () => {
    const alphabet = [...colliding(6), ...Array.from({ length: 6 }, (_, i) => sha256d(Buffer.from([i]))), Buffer.alloc(32)];
    fc.assert(
      fc.property(
        fc.array(fc.record({ kind: fc.constantFrom<Op["kind"]>("add", "has", "get", "delete"), i: fc.nat(alphabet.length - 1), value: fc.nat(1000) }), { maxLength: 200 }),
        fc.option(fc.integer({ min: 1, max: 8 }), { nil: undefined }),
        (ops, max) => run(ops.map((o) => ({ kind: o.kind, hash: alphabet[o.i], value: o.value })), max),
      ),
      { numRuns: 300 },
    );
  });

  it("reports a full set without adding, and an earlier copy's value", () => {
    const s = new HeaderHashSet({ maxEntries: 2, withValues: true });
    const [a, b, c] = [1, 2, 3].map((i) => sha256d(Buffer.from([i])));
    expect(s.add(a, 7)).to.equal(HASH_ADDED);
    expect(s.add(b, 8)).to.equal(HASH_ADDED);
    expect(s.add(c, 9)).to.equal(HASH_SET_FULL);
    expect(s.add(a, 10)).to.equal(7);
    expect(s.has(c)).to.equal(false);
    expect(s.bytes).to.be.below(64 * 1024);
  });
});
