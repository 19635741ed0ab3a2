import { expect } from "chai";
import hre from "hardhat";
import { time } from "@nomicfoundation/hardhat-toolbox-viem/network-helpers";
import { encodeFunctionData, getAddress, keccak256, pad, toHex, zeroAddress, type Address, type Hex } from "viem";
import { PayoutTree } from "../src/merkle";

/**
 * Differential fuzz of PayoutPool's hand-written claim path (one assembly loop for `claim` and
 * `claimMany`) against contracts/test/ReferenceClaims.sol, the same path in plain Solidity (the
 * compiler's ABI decoding, OpenZeppelin's MerkleProof and SafeERC20). Both hold the same root and
 * the same funds; every case sends the same calldata, a valid call mutated (bytes flipped, words
 * set to edge values: offsets past or before the data, lengths of 2^64, dirty addresses, truncated
 * or extended calldata, words swapped), to both. Status and return or revert data must be equal,
 * and when the call succeeds the transactions' logs (the pool's events and the token's transfers,
 * with the two contracts' addresses identified), every account's balance change and `claimed` must
 * be equal. New epochs raise the amounts so that successes keep happening. 1 000 cases per asset;
 * the seed is fixed (FUZZ_SEED overrides it, FUZZ_CASES the count) and printed with any failure.
 */

const CASES = Number(process.env.FUZZ_CASES ?? 1000);
const SEED = Number(process.env.FUZZ_SEED ?? 0x13);
const CASES_PER_EPOCH = 100;
const FUNDS = 10n ** 30n;

/** xorshift32: a small deterministic generator, so that a failing case can be replayed from its seed. */
function rng(seed: number) {
  let x = seed >>> 0 || 1;
  const next = () => {
    x ^= x << 13;
    x >>>= 0;
    x ^= x >>> 17;
    x ^= x << 5;
    x >>>= 0;
    return x;
  };
  return {
    int: (n: number) => next() % n,
    bytes: (n: number) => {
      const b = new Uint8Array(n);
      for (let i = 0; i < n; i++) b[i] = next() & 0xff;
      return b;
    },
  };
}
type Rng = ReturnType<typeof rng>;

const WORD_VALUES = (size: number): bigint[] => [
  0n,
  1n,
  0x20n,
  0x40n,
  0x60n,
  BigInt(size),
  BigInt(size - 4),
  BigInt(size + 0x20),
  2n ** 64n - 1n,
  2n ** 64n,
  2n ** 255n,
  2n ** 256n - 0x20n, // -32: an offset pointing before its base
  2n ** 256n - 0x40n,
  2n ** 256n - 1n,
  2n ** 160n + 7n, // an address with dirty upper bits
];

/** Mutates `data` (selector kept) with one to three random operations. */
function mutate(data: Hex, r: Rng): Hex {
  let b = Buffer.from(data.slice(2), "hex");
  const ops = 1 + r.int(3);
  for (let k = 0; k < ops; k++) {
    const words = Math.floor((b.length - 4) / 32);
    switch (r.int(6)) {
      case 0: {
        // a random byte
        if (b.length > 4) b[4 + r.int(b.length - 4)] = r.int(256);
        break;
      }
      case 1:
      case 2: {
        // a whole word set to an edge value, or a small change of it
        if (words === 0) break;
        const at = 4 + 32 * r.int(words);
        const values = WORD_VALUES(b.length);
        let v = values[r.int(values.length)];
        if (r.int(3) === 0) v = (BigInt("0x" + b.subarray(at, at + 32).toString("hex")) + BigInt(r.int(3) - 1) * 0x20n) & (2n ** 256n - 1n);
        Buffer.from(pad(toHex(v), { size: 32 }).slice(2), "hex").copy(b, at);
        break;
      }
      case 3: {
        // truncated
        b = b.subarray(0, 4 + r.int(Math.max(1, b.length - 4)));
        break;
      }
      case 4: {
        // extended
        b = Buffer.concat([b, Buffer.from(r.bytes(r.int(3) === 0 ? 32 * (1 + r.int(3)) : r.int(40)))]);
        break;
      }
      case 5: {
        // two words swapped
        if (words < 2) break;
        const i = 4 + 32 * r.int(words);
        const j = 4 + 32 * r.int(words);
        const wi = Buffer.from(b.subarray(i, i + 32));
        b.subarray(j, j + 32).copy(b, i);
        wi.copy(b, j);
        break;
      }
    }
  }
  return `0x${b.toString("hex")}`;
}

interface Outcome {
  ok: boolean;
  data: Hex;
}

async function ethCall(from: Address, to: Address, data: Hex): Promise<Outcome> {
  try {
    const out = (await hre.network.provider.request({ method: "eth_call", params: [{ from, to, data, gas: "0x2dc6c0" }, "latest"] })) as Hex;
    return { ok: true, data: out };
  } catch (err: any) {
    if (typeof err?.data === "string") return { ok: false, data: err.data as Hex };
    throw err;
  }
}

for (const asset of ["erc20", "native"] as const) {
  describe(`PayoutPool claim path = plain-Solidity reference, differential fuzz (${asset})`, function () {
    it(`${CASES} mutated claim/claimMany calls: same status, revert data, logs, balances and claimed`, async function () {
      const wallets = await hre.viem.getWalletClients();
      const [admin, relayer] = wallets;
      const publicClient = await hre.viem.getPublicClient();
      // Claimants never send transactions: their balances move only by what the contracts pay them.
      const claimants = wallets.slice(12, 18).map((w) => getAddress(w.account.address));
      const strangers = [1, 2, 3].map((i) => getAddress(pad(toHex(0xabc000 + i), { size: 20 })));
      const accounts = [...claimants, ...strangers];
      const token = asset === "erc20" ? await hre.viem.deployContract("MockERC20", ["Reward", "RWD"]) : undefined;
      const tokenAddress = token?.address ?? zeroAddress;
      const a = admin.account.address;
      const pool = await hre.viem.deployContract("PayoutPool", [tokenAddress, a, a, a, 1n, 0n]);
      const ref = await hre.viem.deployContract("ReferenceClaims", [tokenAddress]);
      if (token) {
        await token.write.mint([a, 2n * FUNDS]);
        await token.write.approve([pool.address, FUNDS]);
        await pool.write.fund([FUNDS]);
        await token.write.transfer([ref.address, FUNDS]);
      } else {
        await hre.network.provider.request({ method: "hardhat_setBalance", params: [a, toHex(3n * FUNDS)] });
        await pool.write.fund([FUNDS], { value: FUNDS });
        await admin.sendTransaction({ to: ref.address, value: FUNDS });
      }
      const balanceOf = (x: Address): Promise<bigint> => (token ? token.read.balanceOf([x]) : publicClient.getBalance({ address: x }));

      const r = rng(SEED + (asset === "native" ? 1 : 0));
      const cumulative = new Map<Address, bigint>(accounts.map((x) => [x, 0n]));
      let tree: PayoutTree | undefined;
      let epoch = 0n;
      const newEpoch = async () => {
        for (const x of accounts) cumulative.set(x, cumulative.get(x)! + BigInt(1 + r.int(1000)));
        tree = new PayoutTree(accounts.map((x) => ({ account: x, cumulative: cumulative.get(x)! })));
        epoch++;
        await pool.write.proposeRoot([epoch, tree.root, tree.total, keccak256(toHex(`e${epoch}`)), ""]);
        await time.increase(1);
        await pool.write.acceptRoot();
        await ref.write.setRoot([tree.root]);
      };

      const validCall = (): Hex => {
        const leafOf = (x: Address) => tree!.proofFor(x)!;
        if (r.int(3) === 0) {
          const l = leafOf(accounts[r.int(accounts.length)]);
          return encodeFunctionData({ abi: pool.abi, functionName: "claim", args: [l.account as Address, l.cumulative, l.proof as Hex[]] });
        }
        const picked = Array.from({ length: 1 + r.int(4) }, () => leafOf(accounts[r.int(accounts.length)]));
        return encodeFunctionData({
          abi: pool.abi,
          functionName: "claimMany",
          args: [picked.map((l) => l.account as Address), picked.map((l) => l.cumulative), picked.map((l) => l.proof as Hex[])],
        });
      };

      const normalizeTopic = (t: Hex) => (t.toLowerCase() === pad(pool.address.toLowerCase() as Hex, { size: 32 }) ? pad(ref.address.toLowerCase() as Hex, { size: 32 }) : t.toLowerCase());
      const logsOf = async (hash: Hex) => {
        const receipt = await publicClient.getTransactionReceipt({ hash });
        return {
          status: receipt.status,
          logs: receipt.logs.map((l) => ({
            address: [pool.address.toLowerCase(), ref.address.toLowerCase()].includes(l.address.toLowerCase()) ? "claims contract" : l.address.toLowerCase(),
            topics: l.topics.map((t) => normalizeTopic(t as Hex)),
            data: l.data,
          })),
        };
      };

      const tally = { ok: 0, emptyRevert: 0, errorRevert: 0 };
      for (let i = 0; i < CASES; i++) {
        if (i % CASES_PER_EPOCH === 0) await newEpoch();
        const valid = validCall();
        const data = r.int(10) === 0 ? valid : mutate(valid, r);
        const where = `case ${i} (seed ${SEED}, ${asset}), calldata ${data}`;
        const [p, q] = await Promise.all([ethCall(relayer.account.address, pool.address, data), ethCall(relayer.account.address, ref.address, data)]);
        expect(p, where).to.deep.equal(q);
        if (!p.ok) {
          if (p.data === "0x") tally.emptyRevert++;
          else tally.errorRevert++;
          continue;
        }
        tally.ok++;
        const before = await Promise.all(accounts.map(balanceOf));
        const hashPool = await relayer.sendTransaction({ to: pool.address, data, gas: 3_000_000n });
        const mid = await Promise.all(accounts.map(balanceOf));
        const hashRef = await relayer.sendTransaction({ to: ref.address, data, gas: 3_000_000n });
        const after = await Promise.all(accounts.map(balanceOf));
        expect(await logsOf(hashPool), where).to.deep.equal(await logsOf(hashRef));
        const paidByPool = accounts.map((_, k) => mid[k] - before[k]);
        const paidByRef = accounts.map((_, k) => after[k] - mid[k]);
        expect(paidByPool, where).to.deep.equal(paidByRef);
        const claimedPool = await Promise.all(accounts.map((x) => pool.read.claimed([x])));
        const claimedRef = await Promise.all(accounts.map((x) => ref.read.claimed([x])));
        expect(claimedPool, where).to.deep.equal(claimedRef);
      }
      // Both contracts paid out the same total.
      expect(FUNDS - (await balanceOf(pool.address))).to.equal(FUNDS - (await balanceOf(ref.address)));
      // The fuzz reached every kind of outcome (a run that only ever reverted would prove little).
      expect(tally.ok, JSON.stringify(tally)).to.be.greaterThan(CASES / 50);
      expect(tally.emptyRevert, JSON.stringify(tally)).to.be.greaterThan(CASES / 50);
      expect(tally.errorRevert, JSON.stringify(tally)).to.be.greaterThan(CASES / 50);
      console.log(`      ${asset}: ${JSON.stringify(tally)}`);
    });
  });
}
