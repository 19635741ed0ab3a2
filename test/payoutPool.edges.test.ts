import { expect } from "chai";
import hre from "hardhat";
import { time } from "@nomicfoundation/hardhat-toolbox-viem/network-helpers";
import { decodeErrorResult, encodeFunctionData, getAddress, keccak256, pad, toHex, zeroAddress, type Abi, type Address, type Hex } from "viem";
import { PayoutTree } from "../src/merkle";

/**
 * Edges of the contract found by issue 13: re-entry into acceptRoot from a claim's transfer, the gas a
 * batched native transfer forwards (a gas burner, a smart-contract wallet), receivers that cannot be
 * paid (a precompile, the pool itself), a front-running claim inside a relayed batch, and the reward
 * assets the pool cannot fully support (a fee switched on later, a rebasing token, a token address
 * without code).
 */

const WINDOW = 60n;
const poolAbi = hre.artifacts.readArtifactSync("PayoutPool").abi as Abi;

async function errorOf(call: Promise<unknown>, ...abis: Abi[]): Promise<{ name: string; args: readonly unknown[] }> {
  try {
    await call;
  } catch (err) {
    for (let e: any = err; e; e = e.cause) {
      const data = e.raw ?? (typeof e.data === "string" ? e.data : undefined);
      if (typeof data === "string" && data.startsWith("0x")) {
        for (const abi of [poolAbi, ...abis]) {
          try {
            const d = decodeErrorResult({ abi, data: data as Hex });
            return { name: d.errorName, args: d.args ?? [] };
          } catch {
            // another ABI
          }
        }
        return { name: `raw:${data}`, args: [] };
      }
    }
    throw err;
  }
  return { name: "ok", args: [] };
}

async function nativePool() {
  const [admin, relayer, alice, bob] = await hre.viem.getWalletClients();
  const a = admin.account.address;
  const pool = await hre.viem.deployContract("PayoutPool", [zeroAddress, a, a, a, WINDOW, 3600n]);
  await pool.write.fund([10n ** 18n], { value: 10n ** 18n });
  const asRelayer = await hre.viem.getContractAt("PayoutPool", pool.address, { client: { wallet: relayer } });
  const publicClient = await hre.viem.getPublicClient();
  let epoch = 0n;
  const publish = async (allocations: { account: Address; cumulative: bigint }[], accept = true) => {
    const tree = new PayoutTree(allocations);
    epoch++;
    await pool.write.proposeRoot([epoch, tree.root, tree.total, keccak256(toHex(`e${epoch}`)), ""]);
    if (accept) {
      await time.increase(WINDOW);
      await pool.write.acceptRoot();
    }
    return tree;
  };
  const batch = (tree: PayoutTree, accounts: Address[]) => {
    const leaves = accounts.map((x) => tree.proofFor(x)!);
    return asRelayer.write.claimMany([leaves.map((l) => l.account as Address), leaves.map((l) => l.cumulative), leaves.map((l) => l.proof as Hex[])], { gas: 5_000_000n });
  };
  return { pool, asRelayer, publicClient, publish, batch, alice: alice.account.address, bob: bob.account.address, balance: (x: Address) => publicClient.getBalance({ address: x }) };
}

describe("PayoutPool edges (issue 13)", function () {
  it("acceptRoot cannot run inside a claim's transfer (re-entrancy guard)", async function () {
    const f = await nativePool();
    const acceptor = await hre.viem.deployContract("ReentrantAcceptor");
    const e1 = await f.publish([{ account: acceptor.address, cumulative: 10n }, { account: f.alice, cumulative: 5n }]);
    await acceptor.write.arm([f.pool.address]);
    await f.publish([{ account: acceptor.address, cumulative: 20n }, { account: f.alice, cumulative: 5n }], false);
    await time.increase(WINDOW); // epoch 2 is acceptable now: only the guard stops the re-entry
    const l = e1.proofFor(acceptor.address)!;
    await f.asRelayer.write.claim([acceptor.address, l.cumulative, l.proof as Hex[]]);
    expect(await acceptor.read.attempted()).to.equal(true);
    expect(await acceptor.read.succeeded()).to.equal(false);
    expect(decodeErrorResult({ abi: poolAbi, data: await acceptor.read.lastError() }).errorName).to.equal("ReentrancyGuardReentrantCall");
    expect((await f.pool.read.activeRoot())[1]).to.equal(1n);
    await f.pool.write.acceptRoot(); // from outside, it works
    expect((await f.pool.read.activeRoot())[1]).to.equal(2n);
  });

  it("a gas burner gets at most BATCH_NATIVE_TRANSFER_GAS in claimMany: its entry fails, cheaply, instead of costing millions", async function () {
    const f = await nativePool();
    const burner = await hre.viem.deployContract("GasBurner");
    const tree = await f.publish([{ account: burner.address, cumulative: 10n }, { account: f.alice, cumulative: 5n }]);
    expect(await f.pool.read.BATCH_NATIVE_TRANSFER_GAS()).to.equal(50_000n);
    const got = await errorOf(f.batch(tree, [f.alice, burner.address]));
    expect(got).to.deep.equal({ name: "NativeTransferFailed", args: [getAddress(burner.address), 10n] });
    // The whole failing batch costs well under 200 000 gas (the burner could have taken the block).
    const leaves = [f.alice, burner.address].map((x) => tree.proofFor(x)!);
    const data = encodeFunctionData({ abi: f.pool.abi, functionName: "claimMany", args: [leaves.map((l) => l.account as Address), leaves.map((l) => l.cumulative), leaves.map((l) => l.proof as Hex[])] });
    const sender = (await hre.viem.getWalletClients())[1];
    await sender.sendTransaction({ to: f.pool.address, data, gas: 10_000_000n }).catch(() => undefined); // mined, reverted
    const [hash] = (await f.publicClient.getBlock({ blockTag: "latest" })).transactions;
    const receipt = await f.publicClient.getTransactionReceipt({ hash });
    expect(receipt.status).to.equal("reverted");
    expect(Number(receipt.gasUsed)).to.be.lessThan(200_000);
    expect(await f.pool.read.claimed([f.alice])).to.equal(0n);
  });

  it("a smart-contract wallet whose receive uses ~40 000 gas is paid inside claimMany; claim forwards all gas", async function () {
    const f = await nativePool();
    const wallet = await hre.viem.deployContract("GasUser", [15_000n]); // + a fresh storage write: ~40 000
    const heavy = await hre.viem.deployContract("GasUser", [200_000n]);
    const tree = await f.publish([{ account: wallet.address, cumulative: 10n }, { account: heavy.address, cumulative: 7n }, { account: f.alice, cumulative: 5n }]);
    await f.batch(tree, [wallet.address, f.alice]);
    expect(await wallet.read.received()).to.equal(10n);
    expect((await errorOf(f.batch(tree, [heavy.address]))).name).to.equal("NativeTransferFailed");
    const l = tree.proofFor(heavy.address)!;
    await f.asRelayer.write.claim([heavy.address, l.cumulative, l.proof as Hex[]]);
    expect(await heavy.read.received()).to.equal(7n);
  });

  it("unpayable accounts fail their entry by name: a precompile (0x0a) and the pool's own address", async function () {
    const f = await nativePool();
    const precompile = getAddress(pad("0x0a", { size: 20 }));
    const tree = await f.publish([{ account: precompile, cumulative: 3n }, { account: f.pool.address, cumulative: 4n }, { account: f.alice, cumulative: 5n }]);
    expect(await errorOf(f.batch(tree, [f.alice, precompile]))).to.deep.equal({ name: "NativeTransferFailed", args: [precompile, 3n] });
    expect(await errorOf(f.batch(tree, [f.pool.address, f.alice]))).to.deep.equal({ name: "NativeTransferFailed", args: [getAddress(f.pool.address), 4n] });
    await f.batch(tree, [f.alice]); // the rest is payable on its own
    expect(await f.pool.read.claimed([f.alice])).to.equal(5n);
  });

  it("a claim sent by a third party ahead of a relayed batch is skipped by the batch, which pays the others", async function () {
    const f = await nativePool();
    const tree = await f.publish([{ account: f.alice, cumulative: 10n }, { account: f.bob, cumulative: 20n }]);
    const l = tree.proofFor(f.alice)!;
    await f.pool.write.claim([f.alice, l.cumulative, l.proof as Hex[]]); // the front-runner
    const bobBefore = await f.balance(f.bob);
    const hash = await f.batch(tree, [f.alice, f.bob]);
    const [event] = await f.pool.getEvents.ClaimedMany({ blockHash: (await f.publicClient.getTransactionReceipt({ hash })).blockHash });
    expect(event.args.payments).to.deep.equal([{ account: getAddress(f.bob), amount: 20n, cumulativeAmount: 20n }]);
    expect((await f.balance(f.bob)) - bobBefore).to.equal(20n);
    expect(await f.pool.read.claimed([f.alice])).to.equal(10n);
  });

  it("an ERC-20 that blacklists an account: its entry reverts the batch naming it (the relay sets it aside), the others pay without it", async function () {
    const [admin, relayer, alice, bob] = await hre.viem.getWalletClients();
    const a = admin.account.address;
    const token = await hre.viem.deployContract("BlacklistToken");
    const pool = await hre.viem.deployContract("PayoutPool", [token.address, a, a, a, WINDOW, 0n]);
    await token.write.mint([a, 100n]);
    await token.write.approve([pool.address, 100n]);
    await pool.write.fund([100n]);
    const tree = new PayoutTree([{ account: alice.account.address, cumulative: 60n }, { account: bob.account.address, cumulative: 40n }]);
    await pool.write.proposeRoot([1n, tree.root, 100n, keccak256("0x01"), ""]);
    await time.increase(WINDOW);
    await pool.write.acceptRoot();
    await token.write.setBlacklisted([bob.account.address, true]);
    const asRelayer = await hre.viem.getContractAt("PayoutPool", pool.address, { client: { wallet: relayer } });
    const batch = (who: Address[]) => {
      const leaves = who.map((x) => tree.proofFor(x)!);
      return asRelayer.write.claimMany([leaves.map((l) => l.account as Address), leaves.map((l) => l.cumulative), leaves.map((l) => l.proof as Hex[])]);
    };
    expect(await errorOf(batch([alice.account.address, bob.account.address]), token.abi as Abi)).to.deep.equal({ name: "Blacklisted", args: [getAddress(bob.account.address)] });
    await batch([alice.account.address]);
    expect(await token.read.balanceOf([alice.account.address])).to.equal(60n);
    expect(await pool.read.claimed([bob.account.address])).to.equal(0n);
  });

  describe("reward assets (docs/contract.md, Reward asset)", function () {
    async function tokenPool(name: "FeeSwitchToken" | "RebasingToken") {
      const [admin, , alice, bob] = await hre.viem.getWalletClients();
      const a = admin.account.address;
      const token = (await hre.viem.deployContract(name as "FeeSwitchToken")) as any;
      const pool = await hre.viem.deployContract("PayoutPool", [token.address, a, a, a, WINDOW, 0n]);
      await token.write.mint([a, 1000n]);
      await token.write.approve([pool.address, 1000n]);
      const tree = new PayoutTree([{ account: alice.account.address, cumulative: 600n }, { account: bob.account.address, cumulative: 400n }]);
      const claim = (who: Address) => {
        const l = tree.proofFor(who)!;
        return pool.write.claim([who, l.cumulative, l.proof as Hex[]]);
      };
      return { token, pool, tree, claim, alice: alice.account.address, bob: bob.account.address };
    }

    it("refuses a token address without code at deployment", async function () {
      const [admin] = await hre.viem.getWalletClients();
      const a = admin.account.address;
      const eoa = getAddress(pad("0x1234", { size: 20 }));
      expect(await errorOf(hre.viem.deployContract("PayoutPool", [eoa, a, a, a, WINDOW, 0n]))).to.deep.equal({ name: "TokenNotAContract", args: [eoa] });
    });

    it("a fee switched on after funding: Claimed records what the pool sent, the miner receives less (documented, not refusable)", async function () {
      const f = await tokenPool("FeeSwitchToken");
      await f.pool.write.fund([1000n]); // no fee yet: accepted
      await f.pool.write.proposeRoot([1n, f.tree.root, 1000n, keccak256("0x01"), ""]);
      await time.increase(WINDOW);
      await f.pool.write.acceptRoot();
      await f.token.write.setFeeBps([100n]); // 1 %
      // From now on fund() refuses it (what arrives is not what was sent) ...
      await f.token.write.approve([f.pool.address, 200n]);
      await f.token.write.mint([(await hre.viem.getWalletClients())[0].account.address, 200n]);
      expect(await errorOf(f.pool.write.fund([200n]))).to.deep.equal({ name: "FundingAmountMismatch", args: [200n, 198n] });
      // ... but claims under a root funded before the switch pay the fee out of the miner's amount.
      await f.claim(f.alice);
      expect(await f.pool.read.claimed([f.alice])).to.equal(600n);
      expect(await f.token.read.balanceOf([f.alice])).to.equal(594n);
    });

    it("a rebasing token: a negative rebase leaves the last claim unpaid (reverts in the token), a positive one is a donation", async function () {
      const f = await tokenPool("RebasingToken");
      await f.pool.write.fund([1000n]);
      await f.pool.write.proposeRoot([1n, f.tree.root, 1000n, keccak256("0x01"), ""]);
      await time.increase(WINDOW);
      await f.pool.write.acceptRoot();
      await f.token.write.rebase([1n, 2n]); // every balance halves: the pool holds 500 for 1000 allocated
      expect((await errorOf(f.claim(f.alice), f.token.abi as Abi)).name).to.equal("ERC20InsufficientBalance"); // 600 from 500: no
      await f.claim(f.bob); // ... bob's 400 can
      expect(await f.token.read.balanceOf([f.bob])).to.equal(400n);
      expect(await f.pool.read.claimed([f.alice])).to.equal(0n);
      await f.token.write.rebase([2n, 1n]); // now the pool holds more than it owes: the excess is not funding
      expect(await f.pool.read.totalFunded()).to.equal(1000n);
      expect(await f.pool.read.surplus()).to.equal(0n);
    });
  });
});
