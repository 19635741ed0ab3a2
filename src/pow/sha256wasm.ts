/**
 * sha256d in WebAssembly, assembled here at load time (src/wasm/encode.ts), for the audit's
 * per-share path: a coinbase, merkle pairs and a header hashed per share, millions of times.
 *
 * Why: one node:crypto call costs ~1 µs whatever the length, and the JavaScript compression
 * (sha256js.ts) ~0.3 µs a block; 64 unrolled rounds over i32 locals compile to plain machine
 * code at a fraction of that. The messages live in the module's own memory (`Sha256dArena`), so
 * nothing is copied in or out: callers build the coinbase and the header there and read the
 * digests there. FIPS 180-4 SHA-256; tests compare it with node:crypto and sha256js on random
 * and hostile lengths.
 */
import { IV, K, putBitLength } from "./sha256js";
import { I32, OP, VOID, i32Const, instantiate, localGet, localSet, name, section, uleb, vec, type WasmMemory } from "../wasm/encode";

// Memory: the running state (8 words) at STATE, the second pass's block at SECOND, callers' room from ARENA_BASE.
const STATE = 0;
const SECOND = 64;
export const ARENA_BASE = 1024;
const PAGES = 4; // 256 KiB: ARENA_BASE and 255 KiB of room

const load = (offset: number): number[] => [OP.i32Load, 2, ...uleb(offset)];
const store = (offset: number): number[] => [OP.i32Store, 2, ...uleb(offset)];
const rotr = (n: number): number[] => [...i32Const(n), OP.i32Rotr];

/** The value on the stack, byte-swapped (memory is little-endian, SHA-256 words big-endian). */
function bswap(tmp: number): number[] {
  return [
    ...localSet(tmp),
    ...localGet(tmp), ...i32Const(8), OP.i32Rotl, ...i32Const(0x00ff00ff), OP.i32And,
    ...localGet(tmp), ...rotr(8), ...i32Const(0xff00ff00), OP.i32And,
    OP.i32Or,
  ];
}

/**
 * compress(p): one SHA-256 compression of the 64-byte block at p into the state at STATE.
 * Locals: 0 = p; 1..8 the working variables; 9..24 the message schedule (a rolling window of 16);
 * 25 and 26 T1, T2; 27 a scratch for bswap.
 */
function compressBody(): number[] {
  const W = (t: number) => 9 + (t % 16);
  const T1 = 25;
  const T2 = 26;
  const TMP = 27;
  const code: number[] = [];
  for (let i = 0; i < 8; i++) code.push(...i32Const(0), ...load(STATE + 4 * i), ...localSet(1 + i));
  for (let t = 0; t < 16; t++) code.push(...localGet(0), ...load(4 * t), ...bswap(TMP), ...localSet(W(t)));
  // v[0..7] are the locals holding a..h this round: renamed each round instead of moved.
  let v = [1, 2, 3, 4, 5, 6, 7, 8];
  for (let t = 0; t < 64; t++) {
    if (t >= 16) {
      // W[t] = σ1(W[t-2]) + W[t-7] + σ0(W[t-15]) + W[t-16]
      const w2 = W(t - 2);
      const w15 = W(t - 15);
      code.push(
        ...localGet(w2), ...rotr(17), ...localGet(w2), ...rotr(19), OP.i32Xor, ...localGet(w2), ...i32Const(10), OP.i32ShrU, OP.i32Xor,
        ...localGet(W(t - 7)), OP.i32Add,
        ...localGet(w15), ...rotr(7), ...localGet(w15), ...rotr(18), OP.i32Xor, ...localGet(w15), ...i32Const(3), OP.i32ShrU, OP.i32Xor, OP.i32Add,
        ...localGet(W(t - 16)), OP.i32Add,
        ...localSet(W(t)),
      );
    }
    const [a, b, c, d, e, f, g, h] = v;
    // T1 = h + Σ1(e) + Ch(e, f, g) + K[t] + W[t];  Ch = g ^ (e & (f ^ g))
    code.push(
      ...localGet(h),
      ...localGet(e), ...rotr(6), ...localGet(e), ...rotr(11), OP.i32Xor, ...localGet(e), ...rotr(25), OP.i32Xor, OP.i32Add,
      ...localGet(g), ...localGet(e), ...localGet(f), ...localGet(g), OP.i32Xor, OP.i32And, OP.i32Xor, OP.i32Add,
      ...i32Const(K[t]), OP.i32Add,
      ...localGet(W(t)), OP.i32Add,
      ...localSet(T1),
    );
    // T2 = Σ0(a) + Maj(a, b, c);  Maj = (a & b) | (c & (a | b))
    code.push(
      ...localGet(a), ...rotr(2), ...localGet(a), ...rotr(13), OP.i32Xor, ...localGet(a), ...rotr(22), OP.i32Xor,
      ...localGet(a), ...localGet(b), OP.i32And, ...localGet(c), ...localGet(a), ...localGet(b), OP.i32Or, OP.i32And, OP.i32Or, OP.i32Add,
      ...localSet(T2),
    );
    // e' = d + T1 (in d's local), a' = T1 + T2 (in h's local); the others shift down a name.
    code.push(...localGet(d), ...localGet(T1), OP.i32Add, ...localSet(d));
    code.push(...localGet(T1), ...localGet(T2), OP.i32Add, ...localSet(h));
    v = [h, a, b, c, d, e, f, g];
  }
  for (let i = 0; i < 8; i++) code.push(...i32Const(0), ...i32Const(0), ...load(STATE + 4 * i), ...localGet(v[i]), OP.i32Add, ...store(STATE + 4 * i));
  return code;
}

/**
 * sha256d(p, blocks, out): the message at p, already padded to `blocks` 64-byte blocks, hashed;
 * the digest of that digest written to out (32 bytes, the usual byte order). Locals: 0 = p,
 * 1 = blocks, 2 = out, 3 = a scratch for bswap.
 */
function sha256dBody(): number[] {
  const iv = (): number[] => [...IV].flatMap((x, i) => [...i32Const(0), ...i32Const(x), ...store(STATE + 4 * i)]);
  const code: number[] = [
    ...iv(),
    OP.block, VOID, OP.loop, VOID,
    ...localGet(1), OP.i32Eqz, OP.brIf, 1,
    ...localGet(0), OP.call, 0,
    ...localGet(0), ...i32Const(64), OP.i32Add, ...localSet(0),
    ...localGet(1), ...i32Const(1), OP.i32Sub, ...localSet(1),
    OP.br, 0, OP.end, OP.end,
  ];
  // The second pass's block: the 32-byte digest (big-endian words), 0x80, zeros, length 256 bits.
  for (let i = 0; i < 8; i++) code.push(...i32Const(0), ...i32Const(0), ...load(STATE + 4 * i), ...bswap(3), ...store(SECOND + 4 * i));
  for (let i = 8; i < 16; i++) code.push(...i32Const(0), ...i32Const(i === 8 ? 0x80 : i === 15 ? 0x00010000 : 0), ...store(SECOND + 4 * i));
  code.push(...iv(), ...i32Const(SECOND), OP.call, 0);
  for (let i = 0; i < 8; i++) code.push(...localGet(2), ...i32Const(0), ...load(STATE + 4 * i), ...bswap(3), ...store(4 * i));
  return code;
}

function body(i32Locals: number, code: number[]): number[] {
  const b = [...vec([[...uleb(i32Locals), I32]]), ...code, OP.end];
  return [...uleb(b.length), ...b];
}

function buildModule(): Uint8Array {
  const compressType = [0x60, ...vec([[I32]]), ...vec([])];
  const sha256dType = [0x60, ...vec([[I32], [I32], [I32]]), ...vec([])];
  return Uint8Array.from([
    0x00, 0x61, 0x73, 0x6d, 0x01, 0x00, 0x00, 0x00,
    ...section(1, vec([compressType, sha256dType])),
    ...section(3, vec([[0], [1]])),
    ...section(5, vec([[0x00, ...uleb(PAGES)]])),
    ...section(7, vec([
      [...name("memory"), 0x02, 0],
      [...name("sha256d"), 0x00, 1],
    ])),
    ...section(10, vec([body(27, compressBody()), body(1, sha256dBody())])),
  ]);
}

interface Exports {
  memory: WasmMemory;
  sha256d(p: number, blocks: number, out: number): void;
}

/**
 * Room in one instance's memory for messages and digests, handed out as Buffers over it (never
 * moved: the memory does not grow). Each arena has its own instance: a worker thread makes its own.
 */
export class Sha256dArena {
  private readonly exports: Exports;
  private readonly memory: Uint8Array;
  private next = ARENA_BASE;

  constructor() {
    this.exports = instantiate<Exports>(buildModule());
    this.memory = new Uint8Array(this.exports.memory.buffer);
  }

  /**
   * A buffer of `size` bytes in the module's memory, for a message of up to `size` bytes (the
   * room for its padding is kept after it) or for digests. RangeError when the arena is full.
   */
  alloc(size: number): Buffer {
    const at = this.next;
    const room = Math.ceil((size + 72) / 64) * 64;
    if (!Number.isInteger(size) || size < 0 || at + room > this.memory.length) throw new RangeError(`Sha256dArena: no room for ${size} bytes`);
    this.next = at + room;
    return Buffer.from(this.memory.buffer, at, size);
  }

  /**
   * sha256d of msg[0, length) written to out[at, at + 32). `msg` and `out` must be buffers from
   * this arena's `alloc`; the padding is written right after the message, inside the room `alloc`
   * kept (so msg[length…] is overwritten). `out` may overlap the message. RangeError otherwise.
   */
  sha256dInto(msg: Buffer, length: number, out: Buffer, at: number): void {
    const m = this.memory;
    const p = msg.byteOffset;
    const end = p + length;
    const blocks = (length + 72) >>> 6; // ⌈(length + 9) / 64⌉
    const pad = p + blocks * 64;
    if (msg.buffer !== m.buffer || out.buffer !== m.buffer || !(length >= 0 && length <= msg.length) || !(at >= 0 && at + 32 <= out.length)) {
      throw new RangeError("Sha256dArena.sha256dInto: the message and the digest's place must be in this arena's buffers");
    }
    m[end] = 0x80;
    for (let k = end + 1; k < pad - 8; k++) m[k] = 0;
    putBitLength(m, pad, length);
    this.exports.sha256d(p, blocks, out.byteOffset + at);
  }
}
