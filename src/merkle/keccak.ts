/**
 * Batched keccak256 for the payout tree, in WebAssembly assembled here at load time.
 *
 * Why: one keccak call through the `keccak` package costs ~5 µs (a stream object per call), its
 * native state object ~2 µs (N-API overhead), a pure-JS permutation ~1.7 µs. A WebAssembly loop
 * with 64-bit lanes hashes thousands of fixed-size messages per call at a fraction of that, and
 * needs no compiler or native build. The module is tiny and its bytes are produced by the code
 * below (no binary blob); tests compare it with the `keccak256` package on random inputs.
 */

import { I32, I64, OP, VOID, instantiate, name, section, sleb, uleb, vec, type WasmMemory } from "../wasm/encode";

// ---- keccak-f[1600] over 25 i64 locals ----------------------------------------------------------

// Rotation offsets r[x][y] and round constants from the Keccak reference.
const ROT = [
  [0, 36, 3, 41, 18],
  [1, 44, 10, 45, 2],
  [62, 6, 43, 15, 61],
  [28, 55, 25, 21, 56],
  [27, 20, 39, 8, 14],
];
const ROUND_CONSTANTS = [
  0x0000000000000001n, 0x0000000000008082n, 0x800000000000808an, 0x8000000080008000n,
  0x000000000000808bn, 0x0000000080000001n, 0x8000000080008081n, 0x8000000000008009n,
  0x000000000000008an, 0x0000000000000088n, 0x0000000080008009n, 0x000000008000000an,
  0x000000008000808bn, 0x800000000000008bn, 0x8000000000008089n, 0x8000000000008003n,
  0x8000000000008002n, 0x8000000000000080n, 0x000000000000800an, 0x800000008000000an,
  0x8000000080008081n, 0x8000000000008080n, 0x0000000080000001n, 0x8000000080008008n,
];
const RC_BASE = 0; // the round constants live at memory offset 0 (a data segment)
export const SCRATCH_BASE = 256; // callers' buffers start here

// Local indices shared by all three functions: params (in, out, count), then i32 and i64 locals.
const P_IN = 0;
const P_OUT = 1;
const P_COUNT = 2;
const L_ROUND = 3;
const L_A = 4; // pointer to the first 32-byte half of the message
const L_B = 5; // pointer to the second half
const L_J = 6;
const L_X = 7;
const L_Y = 8;
const L_SWAP = 9;
const I32_LOCALS = 7; // indices 3..9
const LANE = (i: number) => 10 + i; // 25 lanes
const B = (i: number) => 35 + i; // 25 temporaries
const C = (x: number) => 60 + x;
const D = (x: number) => 65 + x;
const I64_LOCALS = 75;

const get = (i: number) => [OP.localGet, ...uleb(i)];
const set = (i: number) => [OP.localSet, ...uleb(i)];
const i32 = (n: number) => [OP.i32Const, ...sleb(BigInt(n))];
const i64 = (n: bigint) => [OP.i64Const, ...sleb(BigInt.asIntN(64, n))];
const load64 = (offset: number) => [OP.i64Load, 3, ...uleb(offset)];
const store64 = (offset: number) => [OP.i64Store, 3, ...uleb(offset)];

function permutation(): number[] {
  const code: number[] = [...i32(0), ...set(L_ROUND), OP.loop, VOID];
  for (let x = 0; x < 5; x++) {
    code.push(...get(LANE(x)));
    for (let y = 1; y < 5; y++) code.push(...get(LANE(x + 5 * y)), OP.i64Xor);
    code.push(...set(C(x)));
  }
  for (let x = 0; x < 5; x++) {
    code.push(...get(C((x + 4) % 5)), ...get(C((x + 1) % 5)), ...i64(1n), OP.i64Rotl, OP.i64Xor, ...set(D(x)));
  }
  for (let x = 0; x < 5; x++) {
    for (let y = 0; y < 5; y++) {
      const target = y + 5 * ((2 * x + 3 * y) % 5);
      code.push(...get(LANE(x + 5 * y)), ...get(D(x)), OP.i64Xor);
      if (ROT[x][y] !== 0) code.push(...i64(BigInt(ROT[x][y])), OP.i64Rotl);
      code.push(...set(B(target)));
    }
  }
  for (let y = 0; y < 5; y++) {
    for (let x = 0; x < 5; x++) {
      const i = x + 5 * y;
      code.push(...get(B(i)), ...get(B(((x + 1) % 5) + 5 * y)), ...i64(-1n), OP.i64Xor);
      code.push(...get(B(((x + 2) % 5) + 5 * y)), OP.i64And, OP.i64Xor, ...set(LANE(i)));
    }
  }
  code.push(...get(LANE(0)), ...get(L_ROUND), ...load64(RC_BASE), OP.i64Xor, ...set(LANE(0)));
  code.push(...get(L_ROUND), ...i32(8), OP.i32Add, ...set(L_ROUND));
  code.push(...get(L_ROUND), ...i32(8 * 24), OP.i32LtU, OP.brIf, 0, OP.end);
  return code;
}

/** Loads a message of `halves` 32-byte halves (from L_A then L_B) into the lanes, padded. */
function absorb(halves: 1 | 2): number[] {
  const code: number[] = [];
  for (let i = 0; i < 25; i++) {
    if (i < 4) code.push(...get(L_A), ...load64(8 * i));
    else if (i < 8 && halves === 2) code.push(...get(L_B), ...load64(8 * (i - 4)));
    else if (i === 4 * halves) code.push(...i64(1n)); // keccak padding: 0x01 after the message...
    else if (i === 16) code.push(...i64(0x8000000000000000n)); // ...and 0x80 in the rate's last byte
    else code.push(...i64(0n));
    code.push(...set(LANE(i)));
  }
  return code;
}

function squeeze(): number[] {
  const code: number[] = [];
  for (let i = 0; i < 4; i++) code.push(...get(P_OUT), ...get(LANE(i)), ...store64(8 * i));
  return code;
}

/** for (; count > 0; count--, in += inStep, out += 32) { prepare; absorb; permute; squeeze } */
function messageLoop(inStep: number, prepare: number[], halves: 1 | 2): number[] {
  return [
    OP.block, VOID, OP.loop, VOID,
    ...get(P_COUNT), OP.i32Eqz, OP.brIf, 1,
    ...prepare,
    ...absorb(halves),
    ...permutation(),
    ...squeeze(),
    ...get(P_IN), ...i32(inStep), OP.i32Add, ...set(P_IN),
    ...get(P_OUT), ...i32(32), OP.i32Add, ...set(P_OUT),
    ...get(P_COUNT), ...i32(1), OP.i32Sub, ...set(P_COUNT),
    OP.br, 0, OP.end, OP.end,
  ];
}

const plainHalves = [...get(P_IN), ...set(L_A), ...get(P_IN), ...i32(32), OP.i32Add, ...set(L_B)];

/** Orders the two 32-byte nodes at `in` and `in + 32` as bytes (sortPairs), smaller one first. */
function sortedPrepare(): number[] {
  return [
    ...i32(0), ...set(L_SWAP), ...i32(0), ...set(L_J),
    OP.block, VOID, OP.loop, VOID,
    // j == 32: the nodes are equal, keep the order
    ...get(L_J), ...i32(32), OP.i32Ne, OP.i32Eqz, OP.brIf, 1,
    ...get(P_IN), ...get(L_J), OP.i32Add, OP.i32Load8u, 0, 0, ...set(L_X),
    ...get(P_IN), ...get(L_J), OP.i32Add, OP.i32Load8u, 0, 32, ...set(L_Y),
    ...get(L_X), ...get(L_Y), OP.i32Ne,
    OP.if, VOID,
    ...get(L_X), ...get(L_Y), OP.i32GtU, ...set(L_SWAP),
    OP.br, 2,
    OP.end,
    ...get(L_J), ...i32(1), OP.i32Add, ...set(L_J),
    OP.br, 0,
    OP.end, OP.end,
    // a = swap ? in + 32 : in; b = swap ? in : in + 32
    ...get(P_IN), ...i32(32), OP.i32Add, ...get(P_IN), ...get(L_SWAP), OP.select, ...set(L_A),
    ...get(P_IN), ...get(P_IN), ...i32(32), OP.i32Add, ...get(L_SWAP), OP.select, ...set(L_B),
  ];
}
function functionBody(code: number[]): number[] {
  const locals = vec([
    [...uleb(I32_LOCALS), I32],
    [...uleb(I64_LOCALS), I64],
  ]);
  const body = [...locals, ...code, OP.end];
  return [...uleb(body.length), ...body];
}

function buildModule(): Uint8Array {
  const fnType = [0x60, ...vec([[I32], [I32], [I32]]), ...vec([])];
  const bodies = [
    functionBody(messageLoop(64, plainHalves, 2)), // keccak256 of `count` 64-byte messages
    functionBody(messageLoop(32, [...get(P_IN), ...set(L_A)], 1)), // of 32-byte messages
    functionBody(messageLoop(64, sortedPrepare(), 2)), // of sorted pairs of 32-byte nodes
  ];
  const rc = Buffer.alloc(8 * 24);
  ROUND_CONSTANTS.forEach((c, i) => rc.writeBigUInt64LE(c, 8 * i));
  const bytes = [
    0x00, 0x61, 0x73, 0x6d, 0x01, 0x00, 0x00, 0x00,
    ...section(1, vec([fnType])),
    ...section(3, vec([[0], [0], [0]])),
    ...section(5, vec([[0x00, ...uleb(1)]])),
    ...section(7, vec([
      [...name("memory"), 0x02, 0],
      [...name("hash64"), 0x00, 0],
      [...name("hash32"), 0x00, 1],
      [...name("hashPairs"), 0x00, 2],
    ])),
    ...section(10, vec(bodies)),
    ...section(11, vec([[0x00, ...i32(RC_BASE), OP.end, ...uleb(rc.length), ...rc]])),
  ];
  return Uint8Array.from(bytes);
}

// ---- the JavaScript side ------------------------------------------------------------------------

interface Exports {
  memory: WasmMemory;
  hash64(input: number, output: number, count: number): void;
  hash32(input: number, output: number, count: number): void;
  hashPairs(input: number, output: number, count: number): void;
}

/** Messages per call: bounds the scratch memory (CHUNK × 96 bytes) while amortising the call. */
const CHUNK = 8192;

let instance: Exports | undefined;
function wasm(): Exports {
  if (!instance) {
    instance = instantiate<Exports>(buildModule());
    const needed = SCRATCH_BASE + CHUNK * 64 + CHUNK * 32;
    const pages = Math.ceil(needed / 65536) - instance.memory.buffer.byteLength / 65536;
    if (pages > 0) instance.memory.grow(pages);
  }
  return instance;
}

type Kind = "hash64" | "hash32" | "hashPairs";

function run(kind: Kind, input: Uint8Array, inSize: number, count: number, output: Uint8Array, outOffset: number): void {
  const w = wasm();
  const fn = w[kind];
  const inBase = SCRATCH_BASE;
  const outBase = SCRATCH_BASE + CHUNK * 64;
  for (let done = 0; done < count; done += CHUNK) {
    const n = Math.min(CHUNK, count - done);
    const mem = new Uint8Array(w.memory.buffer);
    mem.set(input.subarray(done * inSize, (done + n) * inSize), inBase);
    fn(inBase, outBase, n);
    output.set(mem.subarray(outBase, outBase + n * 32), outOffset + done * 32);
  }
}

/** keccak256 of each consecutive 64-byte message of `input`; the 32-byte digests go to `output`. */
export function keccak64Batch(input: Uint8Array, count: number, output: Uint8Array, outOffset = 0): void {
  checkSizes(input, 64, count, output, outOffset);
  run("hash64", input, 64, count, output, outOffset);
}

/** keccak256 of each consecutive 32-byte message of `input`. */
export function keccak32Batch(input: Uint8Array, count: number, output: Uint8Array, outOffset = 0): void {
  checkSizes(input, 32, count, output, outOffset);
  run("hash32", input, 32, count, output, outOffset);
}

/**
 * For each consecutive pair of 32-byte nodes of `input`: keccak256 of the two concatenated in
 * ascending byte order (merkletreejs `sortPairs`, OpenZeppelin `MerkleProof`).
 */
export function keccakSortedPairsBatch(input: Uint8Array, pairs: number, output: Uint8Array, outOffset = 0): void {
  checkSizes(input, 64, pairs, output, outOffset);
  run("hashPairs", input, 64, pairs, output, outOffset);
}

function checkSizes(input: Uint8Array, inSize: number, count: number, output: Uint8Array, outOffset: number): void {
  if (!Number.isInteger(count) || count < 0) throw new RangeError(`invalid message count ${count}`);
  if (input.length < count * inSize) throw new RangeError(`input holds fewer than ${count} messages of ${inSize} bytes`);
  if (!Number.isInteger(outOffset) || outOffset < 0 || output.length < outOffset + count * 32) {
    throw new RangeError(`output too small for ${count} digests at offset ${outOffset}`);
  }
}

/** keccak256 of one 64-byte message. */
export function keccak64(message: Uint8Array): Buffer {
  const out = Buffer.allocUnsafe(32);
  keccak64Batch(message, 1, out);
  return out;
}

/** keccak256 of one 32-byte message. */
export function keccak32(message: Uint8Array): Buffer {
  const out = Buffer.allocUnsafe(32);
  keccak32Batch(message, 1, out);
  return out;
}
