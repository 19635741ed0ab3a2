import { expect } from "chai";
import crypto from "node:crypto";
import { createDigest, digestHex } from "../src/epochs";
import { Sha256Js } from "../src/pow";
import { keccak256 } from "viem";

/** Splits `data` at random points, with empty pieces and pieces around the 64-byte block edges. */
function randomChunks(data: Buffer, rand: () => number): Buffer[] {
  const out: Buffer[] = [];
  let at = 0;
  while (at < data.length) {
    const r = rand();
    const n = r < 0.1 ? 0 : r < 0.4 ? [1, 55, 56, 63, 64, 65, 119, 120, 128][Math.floor(rand() * 9)] : Math.floor(rand() * 5000);
    out.push(data.subarray(at, Math.min(data.length, at + n)));
    at += n;
  }
  return out;
}

describe("share-log digests", function () {
  let seed = 12345;
  const rand = () => ((seed = (seed * 1103515245 + 12345) % 2 ** 31) / 2 ** 31);

  it("the incremental JavaScript SHA-256 (the browser's) equals node:crypto's on random data, lengths at every block edge and random chunkings", function () {
    const lengths = [0, 1, 55, 56, 57, 63, 64, 65, 119, 120, 127, 128, 129, 1000, 65_536, 200_001];
    for (let i = 0; i < 40; i++) lengths.push(Math.floor(rand() * 20_000));
    for (const length of lengths) {
      const data = crypto.randomBytes(length);
      const expected = crypto.createHash("sha256").update(data).digest("hex");
      const whole = new Sha256Js().update(data).digest().toString("hex");
      expect(whole, `length ${length}, one piece`).to.equal(expected);
      const js = new Sha256Js();
      for (const piece of randomChunks(data, rand)) js.update(piece);
      expect(js.digest().toString("hex"), `length ${length}, random pieces`).to.equal(expected);
    }
    // Hostile: a byte at a time across two blocks, all 0xff and all zero.
    for (const fill of [0x00, 0xff]) {
      const data = Buffer.alloc(200, fill);
      const js = new Sha256Js();
      for (const b of data) js.update(Buffer.from([b]));
      expect(js.digest().toString("hex")).to.equal(crypto.createHash("sha256").update(data).digest("hex"));
    }
  });

  it("refuses to be used after its digest", function () {
    const js = new Sha256Js().update(Buffer.from("abc"));
    expect(js.digest().toString("hex")).to.equal("ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad"); // FIPS 180-2 example
    expect(() => js.update(Buffer.from("d"))).to.throw(/after digest/);
    const d = createDigest("sha256").update("x");
    d.hex();
    expect(() => d.hex()).to.throw(/finished/);
  });

  it("names its digest: sha256 for new share logs, keccak256 for older epoch files", function () {
    const text = "a share log\n";
    expect(digestHex("sha256", text)).to.equal("0x" + crypto.createHash("sha256").update(text).digest("hex"));
    expect(digestHex("keccak256", text)).to.equal(keccak256(Buffer.from(text)));
  });
});
