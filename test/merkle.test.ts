import { expect } from "chai";
import hre from "hardhat";
import fc from "fast-check";
import { loadFixture } from "@nomicfoundation/hardhat-toolbox-viem/network-helpers";
import { StandardMerkleTree } from "@openzeppelin/merkle-tree";
import { encodeAbiParameters, getAddress, keccak256, toHex, zeroAddress, type Address, type Hex } from "viem";
import { PayoutTree, leafHash, verifyProof, type CumulativeAllocation } from "../src/merkle";

const LEAF_ENCODING = ["address", "uint256"];

/** Deterministic pseudo-random accounts and amounts (splitmix-style), so failures reproduce. */
function allocations(count: number, seed: number): CumulativeAllocation[] {
  const out: CumulativeAllocation[] = [];
  for (let i = 0; i < count; i++) {
    const account = getAddress(keccak256(toHex(`account ${seed} ${i}`)).slice(0, 42));
    const cumulative = BigInt(keccak256(toHex(`amount ${seed} ${i}`))) % 10n ** 18n;
    out.push({ account, cumulative });
  }
  return out;
}

function flipBit(hex: Hex, bit = 0): Hex {
  const n = BigInt(hex) ^ (1n << BigInt(bit));
  return toHex(n, { size: 32 });
}

async function deployVerifiers() {
  const [admin] = await hre.viem.getWalletClients();
  const a = admin.account.address;
  // Native pool, the shortest window (1 s, the next block): publishing a root is propose + accept.
  const pool = await hre.viem.deployContract("PayoutPool", [zeroAddress, a, a, a, 1n, 0n]);
  const harness = await hre.viem.deployContract("MerkleProofHarness");
  await pool.write.fund([10n ** 21n], { value: 10n ** 21n });
  const publish = async (root: Hex) => {
    const [, active] = await pool.read.activeRoot(); // read from the chain: loadFixture rewinds it
    await pool.write.proposeRoot([active + 1n, root, 0n, root, ""]);
    await pool.write.acceptRoot();
  };
  return { pool, harness, publish };
}

describe("merkle: src/merkle against the contract and OpenZeppelin", function () {
  it("leafHash is the OpenZeppelin double-hashed leaf", function () {
    for (const { account, cumulative } of allocations(20, 1)) {
      const expected = keccak256(keccak256(encodeAbiParameters([{ type: "address" }, { type: "uint256" }], [account, cumulative])));
      expect(toHex(leafHash(account, cumulative))).to.equal(expected);
      expect(toHex(leafHash(account.toLowerCase(), cumulative))).to.equal(expected);
    }
    expect(() => leafHash("0x1234", 1n)).to.throw(TypeError);
    expect(() => leafHash(zeroAddress, -1n)).to.throw(RangeError);
    expect(() => leafHash(zeroAddress, 1n << 256n)).to.throw(RangeError);
  });

  for (const size of [1, 2, 3, 1000]) {
    it(`a ${size}-leaf tree: every proof checks in TypeScript, StandardMerkleTree.verify and on chain`, async function () {
      const { pool, harness, publish } = await loadFixture(deployVerifiers);
      const tree = new PayoutTree(allocations(size, size));
      await publish(tree.root);
      // All leaves for small trees; a spread of 100 for the large one (eth_calls cost ~ms each).
      const indexes = size <= 3 ? [...Array(size).keys()] : [...Array(100).keys()].map((i) => Math.floor((i * size) / 100) + (i % 7));
      for (const index of indexes) {
        const { account, cumulative } = tree.allocations[index];
        const proof = tree.proofAt(index);
        expect(proof.length).to.be.at.most(Math.ceil(Math.log2(size)));
        expect(verifyProof(tree.root, account, cumulative, proof)).to.equal(true);
        expect(StandardMerkleTree.verify(tree.root, LEAF_ENCODING, [account, cumulative.toString()], proof)).to.equal(true);
        expect(await pool.read.verifyProof([account, cumulative, proof])).to.equal(true);
        expect(await harness.read.verify([proof, tree.root, toHex(leafHash(account, cumulative))])).to.equal(true);
        expect(await pool.read.claimable([account, cumulative, proof])).to.equal(cumulative);

        // Wrong amount, wrong account, tampered sibling: rejected everywhere.
        expect(verifyProof(tree.root, account, cumulative + 1n, proof)).to.equal(false);
        expect(await pool.read.verifyProof([account, cumulative + 1n, proof])).to.equal(false);
        const other = tree.allocations[(index + 1) % size].account;
        if (other !== account) expect(await pool.read.verifyProof([other, cumulative, proof])).to.equal(false);
        if (proof.length > 0) {
          const tampered = [...proof];
          tampered[tampered.length - 1] = flipBit(tampered[tampered.length - 1], index % 256);
          expect(verifyProof(tree.root, account, cumulative, tampered)).to.equal(false);
          expect(StandardMerkleTree.verify(tree.root, LEAF_ENCODING, [account, cumulative.toString()], tampered)).to.equal(false);
          expect(await pool.read.verifyProof([account, cumulative, tampered])).to.equal(false);
        }
      }

      // And the contract pays from these proofs (one real claim per tree).
      const { account, cumulative } = tree.allocations[indexes[indexes.length - 1]];
      const hash = await pool.write.claim([account, cumulative, tree.proofAt(indexes[indexes.length - 1])]);
      const publicClient = await hre.viem.getPublicClient();
      expect((await publicClient.getTransactionReceipt({ hash })).status).to.equal("success");
      expect(await pool.read.claimed([account])).to.equal(cumulative);
    });
  }

  it("proofs of an OpenZeppelin StandardMerkleTree verify with src/merkle and on chain", async function () {
    const { pool, publish } = await loadFixture(deployVerifiers);
    const values = allocations(37, 5).map((a) => [a.account, a.cumulative.toString()]);
    const standard = StandardMerkleTree.of(values, LEAF_ENCODING);
    await publish(standard.root as Hex);
    for (const [i, [account, amount]] of standard.entries()) {
      const proof = standard.getProof(i) as Hex[];
      expect(verifyProof(standard.root as Hex, account as Address, BigInt(amount), proof)).to.equal(true);
      expect(await pool.read.verifyProof([account as Address, BigInt(amount), proof])).to.equal(true);
    }
  });

  it("random trees: src/merkle proofs verify with StandardMerkleTree.verify, tampered ones fail", function () {
    fc.assert(
      fc.property(fc.integer({ min: 1, max: 60 }), fc.integer({ min: 0, max: 1_000_000 }), (size, seed) => {
        const tree = new PayoutTree(allocations(size, seed));
        for (let i = 0; i < size; i++) {
          const { account, cumulative } = tree.allocations[i];
          const proof = tree.proofAt(i);
          if (!verifyProof(tree.root, account, cumulative, proof)) return false;
          if (!StandardMerkleTree.verify(tree.root, LEAF_ENCODING, [account, cumulative.toString()], proof)) return false;
          if (proof.length > 0 && verifyProof(tree.root, account, cumulative, [flipBit(proof[0], i % 256), ...proof.slice(1)])) return false;
        }
        return true;
      }),
      { numRuns: 40 },
    );
  });

  it("claim and claimMany fold proofs of 0 to 25 hashes exactly as OpenZeppelin's MerkleProof (the unrolled loop)", async function () {
    const { pool, harness, publish } = await loadFixture(deployVerifiers);
    const publicClient = await hre.viem.getPublicClient();
    const bytes32 = fc.uint8Array({ minLength: 32, maxLength: 32 }).map((b) => toHex(b));
    const cases = fc.sample(
      fc.record({
        account: fc.uint8Array({ minLength: 20, maxLength: 20 }).map((b) => getAddress(toHex(b))),
        cumulative: fc.bigInt({ min: 1n, max: 10n ** 12n }),
        hashes: fc.array(bytes32, { minLength: 25, maxLength: 25 }),
        duplicateSibling: fc.boolean(),
        batch: fc.boolean(),
        tamperAt: fc.nat(),
      }),
      { numRuns: 26, seed: 42 },
    );
    let claims = 0;
    // One case per proof length 0..25: the pool folds 8, then 4, 2 and 1 levels at a time, so every
    // combination of the tail runs.
    for (const [length, c] of cases.entries()) {
      const leaf = toHex(leafHash(c.account, c.cumulative));
      const proof = c.hashes.slice(0, length);
      // A sibling equal to the running node exercises the a == b case of the sorted pair.
      if (c.duplicateSibling && length > 0) proof[0] = leaf;
      const root = await harness.read.processProof([proof, leaf]);
      if (BigInt(root) < 1n << 64n) continue; // not a root the pool would accept (probability ~2^-192)
      await publish(root);
      expect(await pool.read.verifyProof([c.account, c.cumulative, proof])).to.equal(true);
      const pay = (p: Hex[]) =>
        c.batch ? pool.write.claimMany([[c.account], [c.cumulative], [p]]) : pool.write.claim([c.account, c.cumulative, p]);
      for (const at of length > 0 ? [0, length - 1, c.tamperAt % length] : []) {
        const tampered = [...proof];
        tampered[at] = flipBit(tampered[at], c.tamperAt % 256);
        const error = await pay(tampered).then(
          () => "paid",
          (e: Error) => e.message,
        );
        expect(error, `length ${length}, hash ${at} tampered`).to.match(/InvalidProof/);
      }
      const hash = await pay(proof);
      expect((await publicClient.getTransactionReceipt({ hash })).status).to.equal("success");
      expect(await pool.read.claimed([c.account])).to.equal(c.cumulative);
      expect(await publicClient.getBalance({ address: c.account })).to.equal(c.cumulative);
      claims++;
    }
    expect(claims).to.equal(26);
  });
});
