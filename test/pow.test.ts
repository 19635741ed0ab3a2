import { expect } from "chai";
import { randomBytes } from "node:crypto";
import fc from "fast-check";
import {
  DIFF1,
  applyVersionRolling,
  bip34HeightPush,
  bitsToDifficulty,
  bitsToTarget,
  buildCoinbase,
  buildCoinbaseParts,
  buildCoinbaseReference,
  buildHeader,
  checkWitnessCommitment,
  coinbaseHeight,
  coinbasePayoutAddress,
  computeMerkleRoot,
  difficultyToTarget,
  displayHexToInternal,
  formatDifficulty,
  hashAtMost,
  hashToBigInt,
  hashToDisplayHex,
  MAX_TARGET,
  targetToBytesLE,
  merkleBranch,
  merkleRootFromBranch,
  merkleRootOfTxids,
  parseBlock,
  parseTransaction,
  prevhashForNotify,
  prevhashFromNotify,
  prevhashNotifyToDisplay,
  serializeBlock,
  sha256d,
  sha256dCreateHash,
  sha256dJs,
  Sha256dArena,
  sha256dNative,
  sha256Js,
  swapPrevhashWords,
  targetToBits,
  targetToDifficulty,
  verifyShareWork,
  versionBitsWithinMask,
  witnessCommitmentScript,
} from "../src/pow";
import { syntheticTransactions } from "../src/chain/synthetic";

const hex32 = (n: number) => (n >>> 0).toString(16).padStart(8, "0");
const ADDRESS = "0x52908400098527886E0F7030069857D2E4169EE7";

describe("pow: facts of the real chain", () => {
  it("genesis header hashes to 000000000019d6…e26f", () => {
    const header = buildHeader({
      version: "00000001",
      prevhash: "00".repeat(32),
      merkleRoot: displayHexToInternal("4a5e1e4baab89f3a32518a88c31bc87f618f76673e2cc77ab2127b7afdeda33b"),
      ntime: hex32(1231006505),
      nbits: "1d00ffff",
      nonce: hex32(2083236893),
    });
    expect(header.length).to.equal(80);
    // The genesis header as it is serialized on the wire starts with 01000000 and ends with 1dac2b7c.
    expect(header.toString("hex").slice(0, 8)).to.equal("01000000");
    expect(header.toString("hex").slice(-24)).to.equal("29ab5f49ffff001d1dac2b7c");
    const hash = sha256d(header);
    expect(hashToDisplayHex(hash)).to.equal("000000000019d6689c085ae165831e934ff763ae46a2a6c172b3f1b60a8ce26f");
    expect(hashToBigInt(hash) <= bitsToTarget("1d00ffff")).to.equal(true);
    expect(sha256dCreateHash(header).equals(hash)).to.equal(true);
  });

  it("block 125552 assembled with its notify-form prevhash hashes to 00000000000000001e8d…bd1d", () => {
    const prev = "00000000000008a3a41b85b8b29ad444def299fee21793cd8b9e567eab02cd81";
    const header = buildHeader({
      version: "00000001",
      prevhash: prevhashForNotify(prev),
      merkleRoot: displayHexToInternal("2b12fcf1b09288fcaff797d71e950e71ae42b91e8bdb2304758dfcffc2b620e3"),
      ntime: hex32(1305998791),
      nbits: "1a44b9f2",
      nonce: hex32(2504433986),
    });
    const hash = sha256d(header);
    expect(hashToDisplayHex(hash)).to.equal("00000000000000001e8d6829a8a21adc5d38d0a473b144b6765798e61f98bd1d");
    expect(hashToBigInt(hash) <= bitsToTarget("1a44b9f2")).to.equal(true);
    // The header carries the previous hash in internal (reversed) byte order.
    expect(header.subarray(4, 36).toString("hex")).to.equal(Buffer.from(prev, "hex").reverse().toString("hex"));
  });

  it("bits 1d00ffff is difficulty 1 and its target is DIFF1", () => {
    expect(bitsToTarget("1d00ffff")).to.equal(DIFF1);
    expect(bitsToDifficulty("1d00ffff")).to.equal(1);
    expect(targetToBits(DIFF1)).to.equal("1d00ffff");
    // block 125552's difficulty is 244112.49 (bits 1a44b9f2)
    expect(bitsToDifficulty("1a44b9f2")).to.be.closeTo(244112.48777, 1e-4);
  });
});

describe("pow: sha256d implementations agree", () => {
  it("JS, crypto.hash and createHash give the same digests for 0..1000-byte inputs", () => {
    // Known vector: sha256("abc").
    expect(sha256Js(Buffer.from("abc")).toString("hex")).to.equal("ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad");
    fc.assert(
      fc.property(fc.uint8Array({ minLength: 0, maxLength: 1000 }), (bytes) => {
        const b = Buffer.from(bytes);
        const native = sha256dNative(b);
        expect(sha256dJs(b).equals(native)).to.equal(true);
        expect(sha256d(b).equals(native)).to.equal(true);
        expect(sha256dCreateHash(b).equals(native)).to.equal(true);
      }),
      { numRuns: 300 },
    );
    for (let len = 0; len <= 200; len++) {
      const b = randomBytes(len);
      expect(sha256dJs(b).equals(sha256dNative(b)), `length ${len}`).to.equal(true);
    }
  });

  it("the WebAssembly sha256d (Sha256dArena) equals node:crypto's on every length 0..1100, random inputs, and in place", () => {
    const arena = new Sha256dArena();
    const msg = arena.alloc(1100);
    const out = arena.alloc(64);
    const check = (b: Buffer, what: string) => {
      b.copy(msg, 0);
      // Whatever the padding overwrites after the message must not matter: fill it with garbage first.
      msg.fill(0xa5, b.length);
      out.fill(0x5a);
      arena.sha256dInto(msg, b.length, out, 7);
      expect(out.subarray(7, 39).toString("hex"), what).to.equal(sha256dNative(b).toString("hex"));
      expect(out[6], what).to.equal(0x5a);
      expect(out[39], what).to.equal(0x5a);
    };
    // Every length, so that each padding case (0x80 and the length in one block or spilling into a next) is met.
    for (let len = 0; len <= 1100; len++) check(randomBytes(len), `length ${len}`);
    for (const fill of [0x00, 0xff, 0x80]) for (const len of [55, 56, 63, 64, 80, 119, 120]) check(Buffer.alloc(len, fill), `length ${len} of 0x${fill.toString(16)}`);
    fc.assert(
      fc.property(fc.uint8Array({ minLength: 0, maxLength: 1100 }), (bytes) => check(Buffer.from(bytes), `${bytes.length} random bytes`)),
      { numRuns: 300 },
    );
    // A merkle step hashes the pair in place: the digest overwrites the message's first 32 bytes.
    const pair = arena.alloc(64);
    const bytes = randomBytes(64);
    bytes.copy(pair);
    arena.sha256dInto(pair, 64, pair, 0);
    expect(pair.subarray(0, 32).toString("hex")).to.equal(sha256dNative(bytes).toString("hex"));
  });

  it("Sha256dArena refuses buffers that are not its own or too short, and a full arena", () => {
    const arena = new Sha256dArena();
    const msg = arena.alloc(80);
    const out = arena.alloc(32);
    expect(() => arena.sha256dInto(Buffer.alloc(80), 80, out, 0)).to.throw(RangeError, /this arena's/);
    expect(() => arena.sha256dInto(msg, 80, Buffer.alloc(32), 0)).to.throw(RangeError, /this arena's/);
    expect(() => arena.sha256dInto(new Sha256dArena().alloc(80), 80, out, 0)).to.throw(RangeError, /this arena's/);
    expect(() => arena.sha256dInto(msg, 81, out, 0)).to.throw(RangeError);
    expect(() => arena.sha256dInto(msg, 80, out, 1)).to.throw(RangeError);
    expect(() => arena.alloc(1 << 20)).to.throw(RangeError, /no room/);
  });
});

describe("pow: the coinbase decoded in place equals the plain concatenation", () => {
  const outcome = (f: () => Buffer): string => {
    try {
      return f().toString("hex");
    } catch (e) {
      return `${(e as Error).name}: ${(e as Error).message}`;
    }
  };
  it("on random hex, and on hostile parts (odd length, non-hex at any place, empty, unicode, non-strings): same bytes or the same error", () => {
    const hexish = fc.oneof(
      fc.uint8Array({ maxLength: 120 }).map((b) => Buffer.from(b).toString("hex")),
      fc.uint8Array({ maxLength: 40 }).map((b) => Buffer.from(b).toString("hex").toUpperCase()),
      fc.string({ maxLength: 20 }),
      fc.uint8Array({ minLength: 1, maxLength: 20 }).chain((b) =>
        fc.tuple(fc.nat(b.length * 2), fc.constantFrom("g", "x", " ", "é", "0", "-")).map(([at, c]) => {
          const h = Buffer.from(b).toString("hex");
          return h.slice(0, at) + c + h.slice(at + 1);
        }),
      ),
      fc.constant(""),
    );
    fc.assert(
      fc.property(hexish, hexish, hexish, hexish, (a, b, c, d) => {
        expect(outcome(() => buildCoinbase(a, b, c, d))).to.equal(outcome(() => buildCoinbaseReference(a, b, c, d)));
      }),
      { numRuns: 3000 },
    );
    for (const bad of [undefined, null, 7, ["00"]] as unknown as string[]) {
      expect(outcome(() => buildCoinbase("00", bad, "00", "00"))).to.equal(outcome(() => buildCoinbaseReference("00", bad, "00", "00")));
    }
  });
});

describe("pow: mining.notify prevhash", () => {
  it("matches the Stratum protocol documentation example", () => {
    // slush's Stratum docs: notify prevhash 4d16b6f8…00000000 is block 00000000440b921e…4d16b6f8.
    const display = "00000000440b921e1b77c6c0487ae5616de67f788f44ae2a5af6e2194d16b6f8";
    const notify = "4d16b6f85af6e2198f44ae2a6de67f78487ae5611b77c6c0440b921e00000000";
    expect(prevhashForNotify(display)).to.equal(notify);
    expect(prevhashNotifyToDisplay(notify)).to.equal(display);
    expect(prevhashFromNotify(notify).toString("hex")).to.equal(Buffer.from(display, "hex").reverse().toString("hex"));
  });

  it("word swap is an involution and the notify form round-trips", () => {
    fc.assert(
      fc.property(fc.uint8Array({ minLength: 32, maxLength: 32 }), (bytes) => {
        const hex = Buffer.from(bytes).toString("hex");
        expect(swapPrevhashWords(swapPrevhashWords(hex))).to.equal(hex);
        expect(prevhashNotifyToDisplay(prevhashForNotify(hex))).to.equal(hex);
        expect(prevhashFromNotify(prevhashForNotify(hex)).equals(Buffer.from(hex, "hex").reverse())).to.equal(true);
      }),
    );
  });

  it("rejects malformed prevhash with a RangeError", () => {
    expect(() => prevhashFromNotify("00")).to.throw(RangeError, /64 hex/);
    expect(() => prevhashForNotify("zz".repeat(32))).to.throw(RangeError);
    expect(() => swapPrevhashWords("001122")).to.throw(RangeError, /multiple of 4/);
  });
});

describe("pow: BIP34 height push", () => {
  const cases: [number, string][] = [
    [1, "51"],
    [16, "60"],
    [17, "0111"],
    [127, "017f"],
    [128, "028000"],
    [255, "02ff00"],
    [256, "020001"],
    [65535, "03ffff00"],
    [65536, "03000001"],
    [8388607, "03ffff7f"],
    [8388608, "0400008000"],
    [227836, "03fc7903"], // the first block that enforced BIP34 on mainnet
  ];
  for (const [height, expected] of cases) {
    it(`height ${height} -> ${expected}`, () => {
      expect(bip34HeightPush(height).toString("hex")).to.equal(expected);
    });
  }
  it("rejects negative, fractional and oversized heights", () => {
    for (const bad of [-1, 1.5, 2 ** 31, NaN]) expect(() => bip34HeightPush(bad)).to.throw(RangeError);
  });
});

describe("pow: difficulty and targets", () => {
  it("difficulty 0.02 is exactly DIFF1*100/2, from a string or a number", () => {
    expect(difficultyToTarget("0.02")).to.equal((DIFF1 * 100n) / 2n);
    expect(difficultyToTarget(0.02)).to.equal((DIFF1 * 100n) / 2n);
    expect(difficultyToTarget("2e-2")).to.equal((DIFF1 * 100n) / 2n);
  });

  it("difficulty 1e-9 is exactly DIFF1*10^9", () => {
    expect(difficultyToTarget(1e-9)).to.equal(DIFF1 * 10n ** 9n);
    expect(difficultyToTarget("1e-9")).to.equal(DIFF1 * 10n ** 9n);
    expect(difficultyToTarget("0.000000001")).to.equal(DIFF1 * 10n ** 9n);
  });

  it("integer and large difficulties", () => {
    expect(difficultyToTarget("1")).to.equal(DIFF1);
    expect(difficultyToTarget(2)).to.equal(DIFF1 / 2n);
    expect(difficultyToTarget("65536")).to.equal(DIFF1 / 65536n);
    expect(difficultyToTarget("1.5e3")).to.equal(DIFF1 / 1500n);
    // Tiny difficulties clamp at the largest 256-bit target instead of overflowing.
    expect(difficultyToTarget("1e-20")).to.equal((1n << 256n) - 1n);
  });

  it("rejects zero, negatives, NaN, non-numeric and absurd input with a RangeError", () => {
    for (const bad of ["0", "0.0", "-1", -0.5, 0, NaN, Infinity, "abc", "", ".", "1.2.3", "0x10", "1e999999999", "1e-81", "9".repeat(200)]) {
      expect(() => difficultyToTarget(bad as string | number), String(bad)).to.throw(RangeError);
    }
    expect(() => difficultyToTarget({} as unknown as string)).to.throw(RangeError);
  });

  it("targetToDifficulty inverts difficultyToTarget closely", () => {
    for (const d of [1e-9, 0.001, 0.02, 1, 3.5, 1024, 244112.48777, 1e12]) {
      expect(targetToDifficulty(difficultyToTarget(d))).to.be.closeTo(d, d * 1e-12);
    }
  });

  it("formatDifficulty gives short plain decimals that parse back to the same target", () => {
    expect(formatDifficulty(0.02)).to.equal("0.02");
    expect(formatDifficulty(1e-9)).to.equal("0.000000001");
    expect(formatDifficulty(1 / 3)).to.equal("0.333333");
    expect(formatDifficulty(123456789)).to.equal("123457000");
    expect(formatDifficulty(1)).to.equal("1");
    expect(formatDifficulty(0.0123456789)).to.equal("0.0123457");
    for (const bad of [0, -1, NaN, Infinity]) expect(() => formatDifficulty(bad)).to.throw(RangeError);
    fc.assert(
      fc.property(fc.double({ min: 1e-12, max: 1e15, noNaN: true }), (d) => {
        const s = formatDifficulty(d);
        expect(s).to.match(/^\d+(\.\d+)?$/);
        expect(Number(s)).to.be.closeTo(d, d * 1e-5);
        expect(difficultyToTarget(s)).to.equal(difficultyToTarget(Number(s)));
      }),
    );
  });

  it("bits <-> target round trips", () => {
    for (const bits of ["1d00ffff", "1a44b9f2", "207fffff", "170331db", "1b0404cb", "1f00ffff", "2100ffff"]) {
      expect(targetToBits(bitsToTarget(bits))).to.equal(bits);
    }
    expect(bitsToTarget("207fffff")).to.equal(0x7fffffn << 232n);
    fc.assert(
      fc.property(fc.bigInt({ min: 1n, max: (1n << 256n) - 1n }), (t) => {
        const back = bitsToTarget(targetToBits(t));
        expect(back <= t).to.equal(true);
        // Compact keeps at least the top 15 significant bits.
        expect(t - back < (t >> 15n) + 1n).to.equal(true);
      }),
    );
    expect(() => bitsToTarget("1d80ffff")).to.throw(RangeError, /negative/);
    expect(() => bitsToTarget("ff00ffff")).to.throw(RangeError, /overflow/);
    expect(() => bitsToTarget("00000000")).to.throw(RangeError, /zero/);
    expect(() => bitsToTarget("1d00fff")).to.throw(RangeError, /8 hex/);
    expect(() => targetToBits(0n)).to.throw(RangeError);
  });
});

describe("pow: version rolling (BIP310)", () => {
  it("is (version & ~mask) | (bits & mask), not XOR", () => {
    expect(applyVersionRolling("20000000", "1fffe000", "1fffe000")).to.equal("3fffe000");
    expect(applyVersionRolling("20000000", "00002000", "1fffe000")).to.equal("20002000");
    // A job version that already has a bit inside the mask: the submitted bits replace it (XOR would keep it).
    expect(applyVersionRolling("20002000", "00000000", "1fffe000")).to.equal("20000000");
    expect(applyVersionRolling("20002000", "00002000", "1fffe000")).to.equal("20002000");
    // Bits outside the mask are ignored.
    expect(applyVersionRolling("20000000", "e0000001", "1fffe000")).to.equal("20000000");
  });

  it("detects bits outside the negotiated mask", () => {
    expect(versionBitsWithinMask("1fffe000", "1fffe000")).to.equal(true);
    expect(versionBitsWithinMask("00000000", "1fffe000")).to.equal(true);
    expect(versionBitsWithinMask("20000000", "1fffe000")).to.equal(false);
    expect(versionBitsWithinMask("00001000", "1fffe000")).to.equal(false);
    expect(() => versionBitsWithinMask("xyz", "1fffe000")).to.throw(RangeError);
  });

  it("a rolled version changes the header hash", () => {
    const base = { prevhash: "00".repeat(32), merkleRoot: randomBytes(32), ntime: "5f000000", nbits: "207fffff", nonce: "00000001" };
    const a = sha256d(buildHeader({ ...base, version: "20000000" }));
    const rolled = applyVersionRolling("20000000", "00004000", "1fffe000");
    const b = sha256d(buildHeader({ ...base, version: rolled }));
    expect(a.equals(b)).to.equal(false);
    expect(buildHeader({ ...base, version: rolled }).readUInt32LE(0)).to.equal(0x20004000);
  });
});

describe("pow: merkle branch", () => {
  it("root from the Stratum branch equals the full merkle root for 0..9 transactions", () => {
    for (let n = 0; n <= 9; n++) {
      const txids = Array.from({ length: n }, () => randomBytes(32).toString("hex"));
      const coinbaseHash = randomBytes(32);
      const branch = merkleBranch(txids);
      expect(branch.length).to.equal(n === 0 ? 0 : Math.ceil(Math.log2(n + 1)));
      for (const step of branch) expect(step).to.match(/^[0-9a-f]{64}$/);
      const full = merkleRootOfTxids([coinbaseHash, ...txids.map((t) => displayHexToInternal(t))]);
      expect(merkleRootFromBranch(coinbaseHash, branch).toString("hex"), `n=${n}`).to.equal(full.toString("hex"));
      expect(merkleRootFromBranch(coinbaseHash, branch.map((b) => Buffer.from(b, "hex"))).equals(full)).to.equal(true);
    }
  });

  it("the first branch entry is the first txid in internal byte order", () => {
    const txid = "aa".repeat(31) + "01";
    expect(merkleBranch([txid])[0]).to.equal("01" + "aa".repeat(31));
  });

  it("rejects malformed branch entries", () => {
    expect(() => merkleRootFromBranch(randomBytes(32), ["00"])).to.throw(RangeError, /merkleBranch\[0\]/);
    expect(() => merkleBranch(["nothex"])).to.throw(RangeError);
  });
});

describe("pow: coinbase", () => {
  const outputs = [{ value: 5_000_000_000n, script: Buffer.from("0014" + "11".repeat(20), "hex") }];

  it("commits the payout address after the BIP34 height and round-trips it", () => {
    for (const height of [1, 16, 17, 300, 840000, 8388608]) {
      for (const poolTag of [undefined, "/pplns/"]) {
        const { coinb1, coinb2 } = buildCoinbaseParts({ height, payoutAddress: ADDRESS, shareDifficultyUnits: 1_000_000_000n, poolTag, extranonce1Size: 4, extranonce2Size: 8, outputs });
        expect(coinbasePayoutAddress(coinb1)).to.equal(ADDRESS.toLowerCase());
        expect(coinbaseHeight(coinb1)).to.equal(height);
        const cb = buildCoinbase(coinb1, "01020304", "0000000000000001", coinb2);
        const tx = parseTransaction(cb.toString("hex"));
        expect(tx.inputs.length).to.equal(1);
        expect(tx.inputs[0].prevTxid).to.equal("00".repeat(32));
        expect(tx.inputs[0].vout).to.equal(0xffffffff);
        const script = tx.inputs[0].scriptSig;
        expect(script.subarray(0, bip34HeightPush(height).length).equals(bip34HeightPush(height))).to.equal(true);
        // coinb1 ends exactly where extranonce1 starts; the last push covers both extranonces.
        expect(script.subarray(script.length - 13).toString("hex")).to.equal("0c" + "01020304" + "0000000000000001");
        expect(tx.outputs).to.deep.equal(outputs);
        expect(tx.locktime).to.equal(0);
        expect(tx.hasWitness).to.equal(false);
      }
    }
  });

  it("adds the witness commitment as a zero-value last output", () => {
    const commitment = witnessCommitmentScript([]);
    const { coinb1, coinb2 } = buildCoinbaseParts({ height: 100, payoutAddress: ADDRESS, shareDifficultyUnits: 1_000_000_000n, extranonce1Size: 4, extranonce2Size: 4, outputs, witnessCommitment: commitment });
    const tx = parseTransaction(buildCoinbase(coinb1, "00000000", "00000000", coinb2).toString("hex"));
    expect(tx.outputs.length).to.equal(2);
    expect(tx.outputs[1].value).to.equal(0n);
    expect(tx.outputs[1].script.toString("hex").slice(0, 12)).to.equal("6a24aa21a9ed");
  });

  it("returns undefined for coinbases without an address and never throws on garbage", () => {
    expect(coinbasePayoutAddress("")).to.equal(undefined);
    expect(coinbasePayoutAddress("zz")).to.equal(undefined);
    expect(coinbasePayoutAddress("01000000")).to.equal(undefined);
    const { coinb1 } = buildCoinbaseParts({ height: 100, payoutAddress: ADDRESS, shareDifficultyUnits: 1_000_000_000n, extranonce1Size: 4, extranonce2Size: 4, outputs });
    // Replace the address push opcode: no longer a 20-byte push.
    const idx = coinb1.indexOf("14" + ADDRESS.slice(2).toLowerCase());
    expect(coinbasePayoutAddress(coinb1.slice(0, idx) + "13" + coinb1.slice(idx + 2))).to.equal(undefined);
    expect(coinbasePayoutAddress(coinb1.slice(0, 60))).to.equal(undefined);
  });

  it("refuses bad parameters with clear errors", () => {
    const base = { height: 100, payoutAddress: ADDRESS, shareDifficultyUnits: 1_000_000_000n, extranonce1Size: 4, extranonce2Size: 8, outputs };
    expect(() => buildCoinbaseParts({ ...base, payoutAddress: "0x1234" })).to.throw(RangeError, /payoutAddress/);
    expect(() => buildCoinbaseParts({ ...base, poolTag: "x".repeat(70) })).to.throw(RangeError, /scriptSig/);
    expect(() => buildCoinbaseParts({ ...base, outputs: [] })).to.throw(RangeError, /output/);
    expect(() => buildCoinbaseParts({ ...base, extranonce2Size: 0 })).to.throw(RangeError, /extranonce/);
    expect(() => buildCoinbaseParts({ ...base, outputs: [{ value: -1n, script: Buffer.alloc(1) }] })).to.throw(RangeError, /value/);
    expect(() => buildCoinbase("00", "0g", "00", "00")).to.throw(RangeError, /extranonce1/);
  });
});

describe("pow: full header via the Stratum path", () => {
  function template() {
    const transactions = syntheticTransactions(5);
    const commitment = witnessCommitmentScript(transactions.map((t) => t.hash));
    const { coinb1, coinb2 } = buildCoinbaseParts({
      height: 1234,
      payoutAddress: ADDRESS,
      shareDifficultyUnits: 1_000_000_000n,
      poolTag: "/test/",
      extranonce1Size: 4,
      extranonce2Size: 8,
      outputs: [{ value: 5_000_012_345n, script: Buffer.from("76a914" + "22".repeat(20) + "88ac", "hex") }],
      witnessCommitment: commitment,
    });
    return { transactions, coinb1, coinb2 };
  }

  it("equals a header assembled directly from the full block, and the block serializes and parses back", () => {
    const { transactions, coinb1, coinb2 } = template();
    const prevDisplay = "00000000000000000002a7c4c1e48d76c5a37902165a270156b7a8d72728a054";
    const share = {
      coinb1,
      coinb2,
      extranonce1: "a1b2c3d4",
      extranonce2: "0100000000000000",
      merkleBranch: merkleBranch(transactions.map((t) => t.txid)),
      version: applyVersionRolling("20000000", "0000e000", "1fffe000"),
      prevhash: prevhashForNotify(prevDisplay),
      nbits: "207fffff",
      ntime: "66000000",
      nonce: "deadbeef",
    };
    const work = verifyShareWork(share);

    const coinbase = Buffer.from(coinb1 + "a1b2c3d4" + "0100000000000000" + coinb2, "hex");
    const root = merkleRootOfTxids([sha256d(coinbase), ...transactions.map((t) => displayHexToInternal(t.txid))]);
    const direct = Buffer.alloc(80);
    direct.writeUInt32LE(0x2000e000, 0);
    Buffer.from(prevDisplay, "hex").reverse().copy(direct, 4);
    root.copy(direct, 36);
    direct.writeUInt32LE(0x66000000, 68);
    direct.writeUInt32LE(0x207fffff, 72);
    direct.writeUInt32LE(0xdeadbeef, 76);

    expect(work.header.toString("hex")).to.equal(direct.toString("hex"));
    expect(work.coinbase.equals(coinbase)).to.equal(true);
    expect(work.hash.equals(sha256d(direct))).to.equal(true);
    expect(work.hashValue).to.equal(hashToBigInt(work.hash));

    const block = parseBlock(serializeBlock(work.header, work.coinbase, transactions, true));
    expect(block.prevHash).to.equal(prevDisplay);
    expect(block.version).to.equal(0x2000e000);
    expect(block.bits).to.equal("207fffff");
    expect(block.time).to.equal(0x66000000);
    expect(block.nonce).to.equal(0xdeadbeef);
    expect(block.hash).to.equal(hashToDisplayHex(work.hash));
    expect(block.transactions.length).to.equal(6);
    expect(block.coinbase.hasWitness).to.equal(true);
    expect(block.coinbase.inputs[0].witness.map((w) => w.toString("hex"))).to.deep.equal(["00".repeat(32)]);
    // The coinbase's txid is that of its non-witness form, which the Stratum path hashed.
    expect(block.coinbase.txid).to.equal(hashToDisplayHex(sha256d(coinbase)));
    expect(computeMerkleRoot(block)).to.equal(block.merkleRoot);
    expect(block.transactions.slice(1).map((t) => [t.txid, t.wtxid])).to.deep.equal(transactions.map((t) => [t.txid, t.hash]));
    expect(checkWitnessCommitment(block)).to.equal(undefined);
    expect(coinbasePayoutAddress(coinb1)).to.equal(ADDRESS.toLowerCase());
  });

  it("a block with a wrong witness commitment or stray witness is caught", () => {
    const { transactions, coinb1, coinb2 } = template();
    const work = verifyShareWork({
      coinb1, coinb2, extranonce1: "00000000", extranonce2: "0000000000000000",
      merkleBranch: merkleBranch(transactions.slice(1).map((t) => t.txid)),
      version: "20000000", prevhash: "00".repeat(32), nbits: "207fffff", ntime: "66000000", nonce: "00000000",
    });
    // Commitment was computed for 5 transactions; the block carries 4.
    expect(checkWitnessCommitment(parseBlock(serializeBlock(work.header, work.coinbase, transactions.slice(1), true)))).to.equal("bad-witness-merkle-match");
    const noCommit = buildCoinbaseParts({ height: 5, payoutAddress: ADDRESS, shareDifficultyUnits: 1_000_000_000n, extranonce1Size: 4, extranonce2Size: 4, outputs: [{ value: 1n, script: Buffer.from("51", "hex") }] });
    const cb = buildCoinbase(noCommit.coinb1, "00000000", "00000000", noCommit.coinb2);
    expect(checkWitnessCommitment(parseBlock(serializeBlock(work.header, cb, transactions, false)))).to.equal("unexpected-witness");
  });

  it("mines a share at an easy target with real hashing", () => {
    const { transactions, coinb1, coinb2 } = template();
    const target = difficultyToTarget("0.000001"); // ~4 300 hashes expected
    const branch = merkleBranch(transactions.map((t) => t.txid));
    let found: ReturnType<typeof verifyShareWork> | undefined;
    for (let nonce = 0; nonce < 200_000 && !found; nonce++) {
      const w = verifyShareWork({ coinb1, coinb2, extranonce1: "00000001", extranonce2: "0000000000000000", merkleBranch: branch, version: "20000000", prevhash: "00".repeat(32), nbits: "207fffff", ntime: "66000000", nonce: hex32(nonce) });
      if (w.hashValue <= target) found = w;
    }
    expect(found, "no share found in 200k hashes").to.not.equal(undefined);
    expect(hashToBigInt(sha256d(found!.header)) <= target).to.equal(true);
  });

  it("parseBlock rejects truncated and trailing data", () => {
    const { transactions, coinb1, coinb2 } = template();
    const w = verifyShareWork({ coinb1, coinb2, extranonce1: "00000000", extranonce2: "0000000000000000", merkleBranch: [], version: "20000000", prevhash: "00".repeat(32), nbits: "207fffff", ntime: "66000000", nonce: "00000000" });
    const hex = serializeBlock(w.header, w.coinbase, transactions, true);
    expect(() => parseBlock(hex.slice(0, -2))).to.throw(RangeError, /truncated/);
    expect(() => parseBlock(hex + "00")).to.throw(RangeError, /trailing/);
    expect(() => parseBlock("00".repeat(80))).to.throw(RangeError);
    expect(() => parseBlock("xyz")).to.throw(RangeError);
  });
});

describe("pow: hashAtMost equals the bigint comparison", () => {
  it("on random hashes and targets, equal values, one-unit neighbours, zero and the maximum", () => {
    const cases: [Buffer, bigint][] = [];
    for (let i = 0; i < 5000; i++) {
      const h = randomBytes(32);
      // Leading zero bytes as proof of work makes them, so the comparison is decided low in the hash.
      h.fill(0, 32 - (i % 32));
      const v = hashToBigInt(h);
      const t = i % 4 === 0 ? v : i % 4 === 1 ? v + 1n : i % 4 === 2 ? (v > 0n ? v - 1n : 0n) : hashToBigInt(randomBytes(32)) >> BigInt(i % 256);
      cases.push([h, t > MAX_TARGET ? MAX_TARGET : t]);
    }
    cases.push([Buffer.alloc(32), 0n], [Buffer.alloc(32, 0xff), MAX_TARGET], [Buffer.alloc(32, 0xff), MAX_TARGET - 1n], [Buffer.alloc(32), MAX_TARGET]);
    for (const [h, t] of cases) expect(hashAtMost(h, targetToBytesLE(t)), `${h.toString("hex")} vs ${t}`).to.equal(hashToBigInt(h) <= t);
    expect(() => targetToBytesLE(-1n)).to.throw(RangeError);
    expect(() => targetToBytesLE(MAX_TARGET + 1n)).to.throw(RangeError);
  });
});
