import { expect } from "chai";
import hre from "hardhat";
import { loadFixture, time } from "@nomicfoundation/hardhat-toolbox-viem/network-helpers";
import {
  ContractFunctionRevertedError,
  decodeErrorResult,
  getAddress,
  keccak256,
  parseEther,
  toHex,
  zeroAddress,
  type Abi,
  type Address,
  type Hex,
} from "viem";
import { PayoutTree, type CumulativeAllocation } from "../src/merkle";

const poolAbi = hre.artifacts.readArtifactSync("PayoutPool").abi as Abi;

const WINDOW = 3600n;
const MAX_PAUSE = 7n * 24n * 3600n;
const FUNDS = parseEther("1000");

type Pool = Awaited<ReturnType<typeof deployPool>>["pool"];
type Wallet = Awaited<ReturnType<typeof hre.viem.getWalletClients>>[number];

/** The revert data of a failed call: viem's decoded error, or the raw data Hardhat attaches deeper down. */
function revertDataOf(err: unknown): Hex | undefined {
  for (let e: any = err; e; e = e.cause) {
    if (e instanceof ContractFunctionRevertedError && e.raw) return e.raw;
    if (typeof e.data === "string" && e.data.startsWith("0x")) return e.data as Hex;
  }
  return undefined;
}

/** The revert's error name and arguments, decoded with the pool's ABI plus any `extraAbis`. */
async function revertOf(call: Promise<unknown>, ...extraAbis: Abi[]): Promise<{ name: string; args: readonly unknown[] }> {
  try {
    await call;
  } catch (err) {
    const data = revertDataOf(err);
    if (!data) throw err;
    for (const abi of [poolAbi, ...extraAbis]) {
      try {
        const decoded = decodeErrorResult({ abi, data });
        return { name: decoded.errorName, args: decoded.args ?? [] };
      } catch {
        // not this ABI
      }
    }
    return { name: `undecoded:${data}`, args: [] };
  }
  throw new Error("expected the call to revert, it succeeded");
}

async function expectRevert(call: Promise<unknown>, name: string, args?: readonly unknown[], ...extraAbis: Abi[]) {
  const got = await revertOf(call, ...extraAbis);
  expect(got.name).to.equal(name);
  if (args) expect(got.args).to.deep.equal(args);
}

async function deployPool(asset: "erc20" | "native", tokenContract = "MockERC20") {
  const [admin, operator, guardian, alice, bob, carol, relayer, outsider] = await hre.viem.getWalletClients();
  const publicClient = await hre.viem.getPublicClient();
  let tokenAddress: Address = zeroAddress;
  let token: any;
  if (asset === "erc20") {
    token =
      tokenContract === "MockERC20"
        ? await hre.viem.deployContract("MockERC20", ["Reward", "RWD"])
        : await hre.viem.deployContract(tokenContract as "RevertingToken");
    tokenAddress = token.address;
  }
  const pool = await hre.viem.deployContract("PayoutPool", [
    tokenAddress,
    admin.account.address,
    operator.account.address,
    guardian.account.address,
    WINDOW,
    MAX_PAUSE,
  ]);
  if (token) {
    await token.write.mint([admin.account.address, FUNDS * 10n]);
    await token.write.approve([pool.address, FUNDS * 10n]);
  }
  const as = (wallet: Wallet) => hre.viem.getContractAt("PayoutPool", pool.address, { client: { wallet } });
  const balanceOf = async (account: Address): Promise<bigint> =>
    token ? ((await token.read.balanceOf([account])) as bigint) : publicClient.getBalance({ address: account });
  return {
    pool,
    token,
    publicClient,
    admin,
    operator,
    guardian,
    alice,
    bob,
    carol,
    relayer,
    outsider,
    asOperator: await as(operator),
    asGuardian: await as(guardian),
    asRelayer: await as(relayer),
    asOutsider: await as(outsider),
    balanceOf,
  };
}

type Fixture = Awaited<ReturnType<typeof deployPool>>;

async function fund(f: Fixture, amount: bigint) {
  if (f.token) return f.pool.write.fund([amount]);
  return f.pool.write.fund([amount], { value: amount });
}

/** Proposes the tree of `allocations` as `epoch`, waits out the window and accepts it. */
async function publish(f: Fixture, epoch: bigint, allocations: CumulativeAllocation[]): Promise<PayoutTree> {
  const tree = new PayoutTree(allocations);
  await f.asOperator.write.proposeRoot([epoch, tree.root, tree.total, keccak256(toHex(`epoch ${epoch}`)), `ipfs://epoch-${epoch}`]);
  await time.increase(WINDOW);
  await f.asOutsider.write.acceptRoot();
  return tree;
}

function leafOf(tree: PayoutTree, account: Address) {
  const leaf = tree.proofFor(account);
  if (!leaf) throw new Error(`${account} not in tree`);
  return leaf;
}

async function claim(f: Fixture, tree: PayoutTree, account: Address, via: Pool = f.asRelayer) {
  const { cumulative, proof } = leafOf(tree, account);
  return via.write.claim([account, cumulative, proof]);
}

for (const asset of ["erc20", "native"] as const) {
  describe(`PayoutPool (${asset})`, function () {
    const fixture = () => deployPool(asset);
    const erc20Fixture = () => deployPool("erc20");
    const nativeFixture = () => deployPool("native");
    const fixtureFunded = async () => {
      const f = await (asset === "erc20" ? erc20Fixture() : nativeFixture());
      await fund(f, FUNDS);
      return f;
    };

    describe("deployment", function () {
      it("records the asset, the roles, the window and the pause bound", async function () {
        const f = await loadFixture(fixture);
        expect(await f.pool.read.token()).to.equal(f.token ? getAddress(f.token.address) : zeroAddress);
        expect(await f.pool.read.challengeWindow()).to.equal(WINDOW);
        expect(await f.pool.read.maxPause()).to.equal(MAX_PAUSE);
        const [admin, operator, guardian] = await Promise.all([
          f.pool.read.DEFAULT_ADMIN_ROLE(),
          f.pool.read.OPERATOR_ROLE(),
          f.pool.read.GUARDIAN_ROLE(),
        ]);
        expect(await f.pool.read.hasRole([admin, f.admin.account.address])).to.equal(true);
        expect(await f.pool.read.hasRole([operator, f.operator.account.address])).to.equal(true);
        expect(await f.pool.read.hasRole([guardian, f.guardian.account.address])).to.equal(true);
        expect(await f.pool.read.hasRole([operator, f.admin.account.address])).to.equal(false);
        expect(await f.pool.read.activeRoot()).to.deep.equal([toHex(0, { size: 32 }), 0n, 0n]);
        expect(await f.pool.read.pendingRoot()).to.deep.equal([toHex(0, { size: 32 }), 0n, 0n, 0n]);
      });

      it("refuses a zero role holder and a pause bound above 14 days", async function () {
        const f = await loadFixture(fixture);
        const a = f.admin.account.address;
        const asset = f.token?.address ?? zeroAddress;
        await expectRevert(hre.viem.deployContract("PayoutPool", [asset, zeroAddress, a, a, 1n, 0n]), "ZeroAddress");
        await expectRevert(hre.viem.deployContract("PayoutPool", [asset, a, zeroAddress, a, 1n, 0n]), "ZeroAddress");
        await expectRevert(hre.viem.deployContract("PayoutPool", [asset, a, a, zeroAddress, 1n, 0n]), "ZeroAddress");
        const cap = 14n * 24n * 3600n;
        await expectRevert(hre.viem.deployContract("PayoutPool", [asset, a, a, a, 1n, cap + 1n]), "MaxPauseTooLong", [cap + 1n, cap]);
        const atCap = await hre.viem.deployContract("PayoutPool", [asset, a, a, a, 1n, cap]);
        expect(await atCap.read.maxPause()).to.equal(cap);
      });

      it("refuses a challenge window of 0 (same-block accept) and of 2^64-1 (every proposeRoot would overflow)", async function () {
        const f = await loadFixture(fixture);
        const a = f.admin.account.address;
        const asset = f.token?.address ?? zeroAddress;
        const max = 30n * 24n * 3600n;
        for (const window of [0n, 2n ** 64n - 1n, max + 1n]) {
          await expectRevert(hre.viem.deployContract("PayoutPool", [asset, a, a, a, window, 0n]), "ChallengeWindowOutOfRange", [window, 1n, max]);
        }
        // The bounds themselves deploy, and a proposal under the longest window does not overflow.
        await hre.viem.deployContract("PayoutPool", [asset, a, a, a, 1n, 0n]);
        const longest = await hre.viem.deployContract("PayoutPool", [asset, a, a, a, max, 0n]);
        if (f.token) {
          await f.token.write.approve([longest.address, 10n]);
          await longest.write.fund([10n]);
        } else {
          await longest.write.fund([10n], { value: 10n });
        }
        const tree = new PayoutTree([{ account: f.alice.account.address, cumulative: 10n }]);
        await longest.write.proposeRoot([1n, tree.root, 10n, keccak256("0x01"), ""]);
        const [, , , validAt] = await longest.read.pendingRoot();
        expect(validAt).to.equal(BigInt(await time.latest()) + max);
      });
    });

    describe("funding", function () {
      it("fund adds to totalFunded and the balance, and emits Funded", async function () {
        const f = await loadFixture(fixture);
        const hash = await fund(f, FUNDS);
        expect(await f.pool.read.totalFunded()).to.equal(FUNDS);
        expect(await f.balanceOf(f.pool.address)).to.equal(FUNDS);
        const events = await f.pool.getEvents.Funded({}, { blockHash: (await f.publicClient.getTransactionReceipt({ hash })).blockHash });
        expect(events).to.have.length(1);
        expect(events[0].args).to.deep.equal({ from: getAddress(f.admin.account.address), amount: FUNDS, totalFunded: FUNDS });
        await fund(f, 5n);
        expect(await f.pool.read.totalFunded()).to.equal(FUNDS + 5n);
      });

      it("refuses a zero amount", async function () {
        const f = await loadFixture(fixture);
        await expectRevert(f.pool.write.fund([0n]), "ZeroAmount");
      });

      it("does not count a donation sent around fund()", async function () {
        const f = await loadFixture(fixture);
        await fund(f, 100n);
        if (f.token) {
          await f.token.write.transfer([f.pool.address, 50n]);
        } else {
          // A native donation that bypasses receive(): SELFDESTRUCT pushes value without a call.
          await hre.viem.deployContract("ForceSend", [f.pool.address], { value: 50n });
        }
        expect(await f.balanceOf(f.pool.address)).to.equal(150n);
        expect(await f.pool.read.totalFunded()).to.equal(100n);
        await expectRevert(f.asOperator.write.proposeRoot([1n, keccak256("0x01"), 101n, keccak256("0x02"), ""]), "Insolvent", [101n, 100n]);
      });
    });

    describe("roots", function () {
      it("accepts a proposal only after the challenge window, and anyone may accept it", async function () {
        const f = await loadFixture(fixtureFunded);
        const tree = new PayoutTree([{ account: f.alice.account.address, cumulative: 10n }]);
        const hash = await f.asOperator.write.proposeRoot([1n, tree.root, 10n, keccak256("0xaa"), "file://epoch-1.json"]);
        const block = await f.publicClient.getBlock({ blockHash: (await f.publicClient.getTransactionReceipt({ hash })).blockHash });
        const validAt = block.timestamp + WINDOW;
        expect(await f.pool.read.pendingRoot()).to.deep.equal([tree.root, 1n, 10n, validAt]);
        const [proposed] = await f.pool.getEvents.RootProposed({}, { blockHash: block.hash });
        expect(proposed.args).to.deep.include({ epoch: 1n, root: tree.root, totalCumulative: 10n, uri: "file://epoch-1.json", validAt });

        await expectRevert(f.asOutsider.write.acceptRoot(), "ChallengeWindowOpen", [validAt]);
        await time.increaseTo(validAt - 2n);
        await expectRevert(f.asOutsider.write.acceptRoot(), "ChallengeWindowOpen", [validAt]); // mined at validAt - 1
        await f.asOutsider.write.acceptRoot(); // mined at validAt
        expect(await f.pool.read.activeRoot()).to.deep.equal([tree.root, 1n, 10n]);
        expect(await f.pool.read.pendingRoot()).to.deep.equal([toHex(0, { size: 32 }), 0n, 0n, 0n]);
        await expectRevert(f.asOutsider.write.acceptRoot(), "NoPendingRoot");
      });

      it("only the operator proposes", async function () {
        const f = await loadFixture(fixtureFunded);
        const role = await f.pool.read.OPERATOR_ROLE();
        for (const who of [f.asGuardian, f.asOutsider, f.pool]) {
          const caller = who === f.pool ? f.admin : who === f.asGuardian ? f.guardian : f.outsider;
          await expectRevert(who.write.proposeRoot([1n, keccak256("0x01"), 1n, keccak256("0x02"), ""]), "AccessControlUnauthorizedAccount", [
            getAddress(caller.account.address),
            role,
          ]);
        }
      });

      it("requires exactly the next epoch", async function () {
        const f = await loadFixture(fixtureFunded);
        const root = keccak256("0x01");
        await expectRevert(f.asOperator.write.proposeRoot([0n, root, 1n, root, ""]), "EpochNotNext", [0n, 1n]);
        await expectRevert(f.asOperator.write.proposeRoot([2n, root, 1n, root, ""]), "EpochNotNext", [2n, 1n]);
        await publish(f, 1n, [{ account: f.alice.account.address, cumulative: 1n }]);
        await expectRevert(f.asOperator.write.proposeRoot([1n, root, 1n, root, ""]), "EpochNotNext", [1n, 2n]);
        await expectRevert(f.asOperator.write.proposeRoot([3n, root, 1n, root, ""]), "EpochNotNext", [3n, 2n]);
        await f.asOperator.write.proposeRoot([2n, root, 1n, root, ""]);
      });

      it("refuses an insolvent, a decreasing and a reserved root", async function () {
        const f = await loadFixture(fixtureFunded);
        const root = keccak256("0x01");
        await expectRevert(f.asOperator.write.proposeRoot([1n, root, FUNDS + 1n, root, ""]), "Insolvent", [FUNDS + 1n, FUNDS]);
        await publish(f, 1n, [{ account: f.alice.account.address, cumulative: 100n }]);
        await expectRevert(f.asOperator.write.proposeRoot([2n, root, 99n, root, ""]), "TotalDecreased", [99n, 100n]);
        for (const reserved of [toHex(0, { size: 32 }), toHex(12345, { size: 32 }), toHex(2n ** 64n - 1n, { size: 32 })]) {
          await expectRevert(f.asOperator.write.proposeRoot([2n, reserved, 100n, root, ""]), "InvalidRoot", [reserved]);
        }
        await f.asOperator.write.proposeRoot([2n, toHex(2n ** 64n, { size: 32 }), 100n, root, ""]);
      });

      it("holds one pending root at a time", async function () {
        const f = await loadFixture(fixtureFunded);
        const root = keccak256("0x01");
        await f.asOperator.write.proposeRoot([1n, root, 1n, root, ""]);
        await expectRevert(f.asOperator.write.proposeRoot([1n, keccak256("0x02"), 1n, root, ""]), "PendingRootExists", [1n]);
        await expectRevert(f.asOperator.write.proposeRoot([2n, keccak256("0x02"), 1n, root, ""]), "PendingRootExists", [1n]);
      });

      it("the guardian revokes a pending root; claims keep working against the active one", async function () {
        const f = await loadFixture(fixtureFunded);
        const first = await publish(f, 1n, [
          { account: f.alice.account.address, cumulative: 100n },
          { account: f.bob.account.address, cumulative: 50n },
        ]);
        // A fraudulent successor that cuts alice's amount and gives it to carol.
        const fraud = new PayoutTree([
          { account: f.alice.account.address, cumulative: 1n },
          { account: f.bob.account.address, cumulative: 50n },
          { account: f.carol.account.address, cumulative: 99n },
        ]);
        await f.asOperator.write.proposeRoot([2n, fraud.root, fraud.total, keccak256("0x01"), ""]);
        await expectRevert(f.asOperator.write.revokeRoot([2n, fraud.root]), "AccessControlUnauthorizedAccount");
        await expectRevert(f.asGuardian.write.revokeRoot([1n, fraud.root]), "PendingRootMismatch", [1n, fraud.root, 2n, fraud.root]);
        await expectRevert(f.asGuardian.write.revokeRoot([2n, first.root]), "PendingRootMismatch", [2n, first.root, 2n, fraud.root]);
        await claim(f, first, f.bob.account.address); // the active root still pays while one is pending
        const revoked = await f.asGuardian.write.revokeRoot([2n, fraud.root]);
        const [event] = await f.pool.getEvents.RootRevoked({}, { blockHash: (await f.publicClient.getTransactionReceipt({ hash: revoked })).blockHash });
        expect(event.args).to.deep.equal({ epoch: 2n, root: fraud.root, guardian: getAddress(f.guardian.account.address) });
        expect(await f.pool.read.pendingRoot()).to.deep.equal([toHex(0, { size: 32 }), 0n, 0n, 0n]);
        await expectRevert(f.asGuardian.write.revokeRoot([2n, fraud.root]), "NoPendingRoot");
        await time.increase(WINDOW);
        await expectRevert(f.asOutsider.write.acceptRoot(), "NoPendingRoot");
        expect((await f.pool.read.activeRoot())[0]).to.equal(first.root);

        const before = await f.balanceOf(f.alice.account.address);
        await claim(f, first, f.alice.account.address);
        expect((await f.balanceOf(f.alice.account.address)) - before).to.equal(100n);
        const carolLeaf = leafOf(fraud, f.carol.account.address);
        await expectRevert(f.asRelayer.write.claim([f.carol.account.address, carolLeaf.cumulative, carolLeaf.proof]), "InvalidProof");

        // The revoked epoch number is proposed again.
        await publish(f, 2n, [
          { account: f.alice.account.address, cumulative: 100n },
          { account: f.bob.account.address, cumulative: 80n },
        ]);
        expect((await f.pool.read.activeRoot())[1]).to.equal(2n);
      });
    });

    describe("claims", function () {
      it("pays once across three epochs with the latest proof, then only the difference", async function () {
        const f = await loadFixture(fixtureFunded);
        const alice = f.alice.account.address;
        const bob = f.bob.account.address;
        const e1 = await publish(f, 1n, [{ account: alice, cumulative: 10n }, { account: bob, cumulative: 5n }]);
        await publish(f, 2n, [{ account: alice, cumulative: 30n }, { account: bob, cumulative: 5n }]);
        const e3 = await publish(f, 3n, [{ account: alice, cumulative: 60n }, { account: bob, cumulative: 7n }]);

        const e1Leaf = leafOf(e1, alice);
        await expectRevert(f.asRelayer.write.claim([alice, e1Leaf.cumulative, e1Leaf.proof]), "InvalidProof", [getAddress(alice), 10n]);

        const before = await f.balanceOf(alice);
        const hash = await claim(f, e3, alice);
        expect((await f.balanceOf(alice)) - before).to.equal(60n);
        expect(await f.pool.read.claimed([alice])).to.equal(60n);
        const receipt = await f.publicClient.getTransactionReceipt({ hash });
        const [claimed] = await f.pool.getEvents.Claimed({}, { blockHash: receipt.blockHash });
        expect(claimed.args).to.deep.equal({ account: getAddress(alice), amount: 60n, cumulativeAmount: 60n });
        await expectRevert(claim(f, e3, alice), "NothingToClaim", [getAddress(alice), 60n, 60n]);

        const e4 = await publish(f, 4n, [{ account: alice, cumulative: 75n }, { account: bob, cumulative: 7n }]);
        await claim(f, e4, alice);
        expect((await f.balanceOf(alice)) - before).to.equal(75n);
        expect(await f.pool.read.claimed([alice])).to.equal(75n);
      });

      it("a relayer pays the gas, the funds go to the account", async function () {
        const f = await loadFixture(fixtureFunded);
        const alice = f.alice.account.address;
        const tree = await publish(f, 1n, [{ account: alice, cumulative: parseEther("1") }]);
        const relayerBefore = await f.balanceOf(f.relayer.account.address);
        const aliceBefore = await f.balanceOf(alice);
        await claim(f, tree, alice, f.asRelayer);
        expect((await f.balanceOf(alice)) - aliceBefore).to.equal(parseEther("1"));
        if (f.token) expect(await f.balanceOf(f.relayer.account.address)).to.equal(relayerBefore);
        else expect((await f.balanceOf(f.relayer.account.address)) < relayerBefore).to.equal(true); // paid gas only
      });

      it("rejects a proof for another account or another amount", async function () {
        const f = await loadFixture(fixtureFunded);
        const alice = f.alice.account.address;
        const bob = f.bob.account.address;
        const tree = await publish(f, 1n, [
          { account: alice, cumulative: 10n },
          { account: bob, cumulative: 20n },
          { account: f.carol.account.address, cumulative: 30n },
        ]);
        const bobLeaf = leafOf(tree, bob);
        const aliceLeaf = leafOf(tree, alice);
        await expectRevert(f.asRelayer.write.claim([alice, 20n, bobLeaf.proof]), "InvalidProof", [getAddress(alice), 20n]);
        await expectRevert(f.asRelayer.write.claim([alice, 11n, aliceLeaf.proof]), "InvalidProof", [getAddress(alice), 11n]);
        await expectRevert(f.asRelayer.write.claim([bob, 10n, aliceLeaf.proof]), "InvalidProof");
        await expectRevert(f.asRelayer.write.claim([alice, 10n, []]), "InvalidProof");
        expect(await f.pool.read.claimable([alice, 20n, bobLeaf.proof])).to.equal(0n);
        expect(await f.pool.read.verifyProof([alice, 20n, bobLeaf.proof])).to.equal(false);
        expect(await f.pool.read.verifyProof([alice, 10n, aliceLeaf.proof])).to.equal(true);
        expect(await f.pool.read.claimable([alice, 10n, aliceLeaf.proof])).to.equal(10n);
        await claim(f, tree, alice);
        expect(await f.pool.read.claimable([alice, 10n, aliceLeaf.proof])).to.equal(0n);
      });

      it("pays nothing before the first root", async function () {
        const f = await loadFixture(fixtureFunded);
        await expectRevert(f.asRelayer.write.claim([f.alice.account.address, 1n, []]), "InvalidProof");
        const tree = new PayoutTree([{ account: f.alice.account.address, cumulative: 1n }]);
        await expectRevert(f.asRelayer.write.claim([f.alice.account.address, 1n, tree.proofAt(0)]), "InvalidProof");
      });

      it("claimMany pays a batch, atomically", async function () {
        const f = await loadFixture(fixtureFunded);
        const accounts = [f.alice, f.bob, f.carol].map((w) => w.account.address);
        const tree = await publish(
          f,
          1n,
          accounts.map((account, i) => ({ account, cumulative: BigInt(i + 1) * 100n })),
        );
        const leaves = accounts.map((a) => leafOf(tree, a));
        const before = await Promise.all(accounts.map((a) => f.balanceOf(a)));

        await expectRevert(
          f.asRelayer.write.claimMany([accounts, leaves.map((l) => l.cumulative).slice(1), leaves.map((l) => l.proof)]),
          "LengthMismatch",
        );
        // One bad proof reverts the whole batch.
        await expectRevert(
          f.asRelayer.write.claimMany([accounts, [100n, 200n, 301n], leaves.map((l) => l.proof)]),
          "InvalidProof",
          [getAddress(accounts[2]), 301n],
        );
        expect(await f.pool.read.claimed([accounts[0]])).to.equal(0n);

        const hash = await f.asRelayer.write.claimMany([accounts, leaves.map((l) => l.cumulative), leaves.map((l) => l.proof)]);
        // One ClaimedMany for the batch, no Claimed per account.
        const { blockHash } = await f.publicClient.getTransactionReceipt({ hash });
        expect(await f.pool.getEvents.Claimed({}, { blockHash })).to.deep.equal([]);
        const batches = await f.pool.getEvents.ClaimedMany({ blockHash });
        expect(batches.map((e) => e.args.payments)).to.deep.equal([
          accounts.map((a, i) => ({ account: getAddress(a), amount: BigInt(i + 1) * 100n, cumulativeAmount: BigInt(i + 1) * 100n })),
        ]);
        for (const [i, a] of accounts.entries()) {
          expect((await f.balanceOf(a)) - before[i]).to.equal(BigInt(i + 1) * 100n);
          expect(await f.pool.read.claimed([a])).to.equal(BigInt(i + 1) * 100n);
        }
        // A duplicate inside one batch cannot pay twice: the second entry is skipped as already paid.
        const e2 = await publish(f, 2n, accounts.map((account, i) => ({ account, cumulative: BigInt(i + 1) * 100n + 1n })));
        const alice2 = leafOf(e2, accounts[0]);
        const aliceBefore = await f.balanceOf(accounts[0]);
        const dup = await f.asRelayer.write.claimMany([[accounts[0], accounts[0]], [alice2.cumulative, alice2.cumulative], [alice2.proof, alice2.proof]]);
        const [once] = await f.pool.getEvents.ClaimedMany({ blockHash: (await f.publicClient.getTransactionReceipt({ hash: dup })).blockHash });
        expect(once.args.payments).to.deep.equal([{ account: getAddress(accounts[0]), amount: 1n, cumulativeAmount: 101n }]);
        expect((await f.balanceOf(accounts[0])) - aliceBefore).to.equal(1n);
        // A batch of accounts all paid already does nothing and says nothing; a single claim still says why.
        const none = await f.asRelayer.write.claimMany([[accounts[0]], [alice2.cumulative], [alice2.proof]]);
        expect(await f.pool.getEvents.ClaimedMany({ blockHash: (await f.publicClient.getTransactionReceipt({ hash: none })).blockHash })).to.deep.equal([]);
        await expectRevert(f.asRelayer.write.claim([accounts[0], alice2.cumulative, alice2.proof]), "NothingToClaim", [getAddress(accounts[0]), 101n, 101n]);
        // A repeat pays the difference, and the event says so.
        const bob2 = leafOf(e2, accounts[1]);
        const repeat = await f.asRelayer.write.claimMany([[accounts[1]], [bob2.cumulative], [bob2.proof]]);
        const [again] = await f.pool.getEvents.ClaimedMany({ blockHash: (await f.publicClient.getTransactionReceipt({ hash: repeat })).blockHash });
        expect(again.args.payments).to.deep.equal([{ account: getAddress(accounts[1]), amount: 1n, cumulativeAmount: 201n }]);
        // An empty batch does nothing and says nothing.
        const empty = await f.asRelayer.write.claimMany([[], [], []]);
        expect(await f.pool.getEvents.ClaimedMany({ blockHash: (await f.publicClient.getTransactionReceipt({ hash: empty })).blockHash })).to.deep.equal([]);
      });

      it("claimMany rejects malformed calldata as the ABI decoder would (dirty address, proof outside the calldata)", async function () {
        const { encodeFunctionData } = await import("viem");
        const f = await loadFixture(fixtureFunded);
        const accounts = [f.alice, f.bob, f.carol].map((w) => w.account.address);
        const tree = await publish(f, 1n, accounts.map((account, i) => ({ account, cumulative: BigInt(i + 1) * 100n })));
        const alice = leafOf(tree, accounts[0]);
        const data = encodeFunctionData({ abi: poolAbi, functionName: "claimMany", args: [[accounts[0]], [alice.cumulative], [alice.proof]] });
        // Words after the selector: 0-2 head offsets, 3 accounts.length, 4 accounts[0], 5 amounts.length,
        // 6 amounts[0], 7 proofs.length, 8 offset of proofs[0], 9 proofs[0].length, 10.. its hashes.
        const withWord = (w: number, value: bigint) =>
          (data.slice(0, 10 + 64 * w) + value.toString(16).padStart(64, "0") + data.slice(10 + 64 * (w + 1))) as Hex;
        const send = (input: Hex) => f.relayer.sendTransaction({ to: f.pool.address, data: input, gas: 1_000_000n });
        const bad = [
          withWord(4, BigInt(accounts[0]) | (1n << 160n)), // dirty address
          withWord(8, 1n << 64n), // proof offset far outside the calldata
          withWord(8, (1n << 256n) - 32n), // proof offset that would wrap around
          withWord(9, BigInt(alice.proof.length) + 1n), // proof longer than the calldata
          withWord(9, 1n << 64n), // absurd proof length
        ];
        for (const input of bad) {
          const hash = await send(input).catch(() => undefined);
          if (hash) expect((await f.publicClient.waitForTransactionReceipt({ hash })).status).to.equal("reverted");
          expect(await f.pool.read.claimed([accounts[0]])).to.equal(0n);
        }
        const hash = await send(data);
        expect((await f.publicClient.waitForTransactionReceipt({ hash })).status).to.equal("success");
        expect(await f.pool.read.claimed([accounts[0]])).to.equal(alice.cumulative);
      });
    });

    describe("pause", function () {
      it("stops claims for maxPause, then claims resume without any call", async function () {
        const f = await loadFixture(fixtureFunded);
        const alice = f.alice.account.address;
        const tree = await publish(f, 1n, [{ account: alice, cumulative: 10n }, { account: f.bob.account.address, cumulative: 1n }]);
        await expectRevert(f.asOutsider.write.pause(), "AccessControlUnauthorizedAccount");
        await expectRevert(f.asOperator.write.pause(), "AccessControlUnauthorizedAccount");
        const hash = await f.asGuardian.write.pause();
        const { blockHash } = await f.publicClient.getTransactionReceipt({ hash });
        const until = (await f.publicClient.getBlock({ blockHash })).timestamp + MAX_PAUSE;
        expect(await f.pool.read.pausedUntil()).to.equal(until);
        expect(await f.pool.read.isPaused()).to.equal(true);
        const [paused] = await f.pool.getEvents.ClaimsPaused({}, { blockHash });
        expect(paused.args).to.deep.equal({ guardian: getAddress(f.guardian.account.address), until });
        // The active root stays visible and verifiable during a pause.
        expect((await f.pool.read.activeRoot())[0]).to.equal(tree.root);
        expect(await f.pool.read.claimable([alice, 10n, leafOf(tree, alice).proof])).to.equal(10n);

        await expectRevert(claim(f, tree, alice), "Paused", [until]);
        await expectRevert(f.asGuardian.write.pause(), "PauseNotAllowed", [until + MAX_PAUSE]);
        await time.increaseTo(until - 2n);
        await expectRevert(claim(f, tree, alice), "Paused", [until]); // mined at until - 1
        const before = await f.balanceOf(alice);
        await claim(f, tree, alice); // mined at until
        expect((await f.balanceOf(alice)) - before).to.equal(10n);
        expect(await f.pool.read.isPaused()).to.equal(false);
      });

      it("a new pause needs the previous one ended and as long again of open claims", async function () {
        const f = await loadFixture(fixtureFunded);
        const tree = await publish(f, 1n, [{ account: f.alice.account.address, cumulative: 10n }, { account: f.bob.account.address, cumulative: 5n }]);
        await f.asGuardian.write.pause();
        const until = await f.pool.read.pausedUntil();
        await time.increaseTo(until + MAX_PAUSE - 3n);
        await claim(f, tree, f.alice.account.address); // mined at until + MAX_PAUSE - 2: open again
        await expectRevert(f.asGuardian.write.pause(), "PauseNotAllowed", [until + MAX_PAUSE]); // at - 1
        await f.asGuardian.write.pause(); // mined at until + MAX_PAUSE
        const secondUntil = await f.pool.read.pausedUntil();
        expect(secondUntil).to.equal(until + 2n * MAX_PAUSE);
        await expectRevert(claim(f, tree, f.bob.account.address), "Paused", [secondUntil]);
      });

      it("a root proposed during a pause is accepted only a whole open window after the pause ends", async function () {
        const f = await loadFixture(fixtureFunded);
        const alice = f.alice.account.address;
        const e1 = await publish(f, 1n, [{ account: alice, cumulative: 10n }, { account: f.bob.account.address, cumulative: 5n }]);
        await f.asGuardian.write.pause();
        const until = await f.pool.read.pausedUntil();
        const e2 = new PayoutTree([{ account: alice, cumulative: 25n }, { account: f.bob.account.address, cumulative: 5n }]);
        await f.asOperator.write.proposeRoot([2n, e2.root, e2.total, keccak256("0x02"), ""]);
        expect(await f.pool.read.acceptableAt()).to.equal(until + WINDOW);
        await time.increase(WINDOW);
        await expectRevert(f.asOutsider.write.acceptRoot(), "ChallengeWindowOpen", [until + WINDOW]);
        await time.increaseTo(until);
        // Claims are open again, under the old root, for a whole window before the new one can start.
        await expectRevert(f.asOutsider.write.acceptRoot(), "ChallengeWindowOpen", [until + WINDOW]); // mined at until + 1
        const before = await f.balanceOf(alice);
        await claim(f, e1, alice); // the root is read from where the pause parked it
        expect((await f.balanceOf(alice)) - before).to.equal(10n);
        await time.increaseTo(until + WINDOW - 1n);
        await f.asOutsider.write.acceptRoot(); // mined at until + WINDOW
        expect(await f.pool.read.activeRoot()).to.deep.equal([e2.root, 2n, 30n]);
        await claim(f, e2, alice);
        await claim(f, e2, f.bob.account.address);
        expect(await f.pool.read.claimed([alice])).to.equal(25n);
      });

      it("a pool deployed with maxPause 0 cannot be paused", async function () {
        const f = await loadFixture(fixture);
        const g = f.guardian.account.address;
        const unpausable = await hre.viem.deployContract("PayoutPool", [f.token?.address ?? zeroAddress, g, g, g, 1n, 0n], {
          client: { wallet: f.guardian },
        });
        await expectRevert(unpausable.write.pause(), "PausingDisabled");
      });

      it("a pause before the first root does not lose the root accepted after it", async function () {
        const f = await loadFixture(fixtureFunded);
        await f.asGuardian.write.pause();
        const tree = new PayoutTree([{ account: f.alice.account.address, cumulative: 10n }]);
        await f.asOperator.write.proposeRoot([1n, tree.root, tree.total, keccak256("0x01"), ""]);
        await time.increaseTo((await f.pool.read.pausedUntil()) + WINDOW);
        await f.asOutsider.write.acceptRoot();
        await claim(f, tree, f.alice.account.address);
        expect(await f.pool.read.claimed([f.alice.account.address])).to.equal(10n);
      });
    });

    describe("surplus", function () {
      it("the admin withdraws only what no active or pending root allocates", async function () {
        const f = await loadFixture(fixtureFunded);
        const alice = f.alice.account.address;
        const to = f.outsider.account.address;
        expect(await f.pool.read.surplus()).to.equal(FUNDS);
        const tree = await publish(f, 1n, [{ account: alice, cumulative: 600n }, { account: f.bob.account.address, cumulative: 400n }]);
        expect(await f.pool.read.surplus()).to.equal(FUNDS - 1000n);
        // A pending root with a higher total reserves more.
        const next = new PayoutTree([{ account: alice, cumulative: 700n }, { account: f.bob.account.address, cumulative: 500n }]);
        await f.asOperator.write.proposeRoot([2n, next.root, next.total, keccak256("0x01"), ""]);
        const surplus = FUNDS - 1200n;
        expect(await f.pool.read.surplus()).to.equal(surplus);

        await expectRevert(f.asOperator.write.withdrawSurplus([to, 1n]), "AccessControlUnauthorizedAccount");
        await expectRevert(f.pool.write.withdrawSurplus([to, surplus + 1n]), "SurplusExceeded", [surplus + 1n, surplus]);
        await expectRevert(f.pool.write.withdrawSurplus([zeroAddress, 1n]), "ZeroAddress");
        await expectRevert(f.pool.write.withdrawSurplus([to, 0n]), "ZeroAmount");
        const before = await f.balanceOf(to);
        const hash = await f.pool.write.withdrawSurplus([to, surplus]);
        expect((await f.balanceOf(to)) - before).to.equal(surplus);
        expect(await f.pool.read.totalFunded()).to.equal(1200n);
        expect(await f.pool.read.surplus()).to.equal(0n);
        const [event] = await f.pool.getEvents.SurplusWithdrawn({}, { blockHash: (await f.publicClient.getTransactionReceipt({ hash })).blockHash });
        expect(event.args).to.deep.equal({ to: getAddress(to), amount: surplus, totalFunded: 1200n });
        await expectRevert(f.pool.write.withdrawSurplus([to, 1n]), "SurplusExceeded", [1n, 0n]);

        // Revoking the pending root frees its extra reservation; the active allocation stays.
        await f.asGuardian.write.revokeRoot([2n, next.root]);
        expect(await f.pool.read.surplus()).to.equal(200n);
        await f.pool.write.withdrawSurplus([to, 200n]);
        await claim(f, tree, alice);
        await claim(f, tree, f.bob.account.address);
        expect(await f.balanceOf(f.pool.address)).to.equal(0n);
        expect(await f.pool.read.totalFunded()).to.equal(1000n);
      });
    });
  });
}

describe("PayoutPool (native specifics)", function () {
  const nativeFixture = () => deployPool("native");

  it("a plain transfer funds the pool; fund() needs the exact value", async function () {
    const f = await loadFixture(nativeFixture);
    await f.admin.sendTransaction({ to: f.pool.address, value: 7n });
    expect(await f.pool.read.totalFunded()).to.equal(7n);
    await expectRevert(f.pool.write.fund([10n], { value: 9n }), "WrongFundingValue", [10n, 9n]);
    await expectRevert(f.admin.sendTransaction({ to: f.pool.address, value: 0n }), "ZeroAmount");
  });

  it("a receiver that re-enters claim on the native transfer gets paid once", async function () {
    const f = await loadFixture(nativeFixture);
    await fund(f, FUNDS);
    const receiver = await hre.viem.deployContract("ReentrantReceiver");
    const tree = await publish(f, 1n, [
      { account: receiver.address, cumulative: 100n },
      { account: f.alice.account.address, cumulative: 900n },
    ]);
    const leaf = leafOf(tree, receiver.address);
    await receiver.write.arm([f.pool.address, leaf.cumulative, leaf.proof, false]);
    await f.asRelayer.write.claim([receiver.address, leaf.cumulative, leaf.proof]);
    expect(await f.balanceOf(receiver.address)).to.equal(100n);
    expect(await receiver.read.reentryAttempts()).to.equal(1n);
    expect(await receiver.read.reentrySuccesses()).to.equal(0n);
    const reason = await receiver.read.lastReentryError();
    expect(decodeErrorResult({ abi: f.pool.abi, data: reason }).errorName).to.equal("ReentrancyGuardReentrantCall");
    expect(await f.balanceOf(f.pool.address)).to.equal(FUNDS - 100n);
    await expectRevert(f.asRelayer.write.claim([receiver.address, leaf.cumulative, leaf.proof]), "NothingToClaim");
  });

  it("a failed native transfer reverts the claim cleanly and records nothing", async function () {
    const f = await loadFixture(nativeFixture);
    await fund(f, FUNDS);
    const rejecting = await hre.viem.deployContract("RejectingReceiver");
    const reentrant = await hre.viem.deployContract("ReentrantReceiver");
    const tree = await publish(f, 1n, [
      { account: rejecting.address, cumulative: 10n },
      { account: reentrant.address, cumulative: 20n },
    ]);
    await expectRevert(claim(f, tree, rejecting.address), "NativeTransferFailed", [getAddress(rejecting.address), 10n]);
    expect(await f.pool.read.claimed([rejecting.address])).to.equal(0n);

    const leaf = leafOf(tree, reentrant.address);
    await reentrant.write.arm([f.pool.address, leaf.cumulative, leaf.proof, true]); // re-entry failure bubbles up
    await expectRevert(claim(f, tree, reentrant.address), "NativeTransferFailed", [getAddress(reentrant.address), 20n]);
    expect(await f.pool.read.claimed([reentrant.address])).to.equal(0n);
    expect(await f.balanceOf(f.pool.address)).to.equal(FUNDS);
  });
});

describe("PayoutPool (ERC-20 specifics)", function () {
  const erc20Fixture = () => deployPool("erc20");

  it("refuses native value on an ERC-20 pool", async function () {
    const f = await loadFixture(erc20Fixture);
    await expectRevert(f.pool.write.fund([10n], { value: 10n }), "WrongFundingValue", [10n, 10n]);
    await expectRevert(f.admin.sendTransaction({ to: f.pool.address, value: 1n }), "NativeNotAccepted");
  });

  it("refuses a fee-on-transfer token cleanly", async function () {
    const [admin] = await hre.viem.getWalletClients();
    const token = await hre.viem.deployContract("FeeOnTransferToken");
    const a = admin.account.address;
    const pool = await hre.viem.deployContract("PayoutPool", [token.address, a, a, a, WINDOW, MAX_PAUSE]);
    await token.write.mint([a, 1000n]);
    await token.write.approve([pool.address, 1000n]);
    await expectRevert(pool.write.fund([1000n]), "FundingAmountMismatch", [1000n, 990n]);
    expect(await pool.read.totalFunded()).to.equal(0n);
    expect(await token.read.balanceOf([pool.address])).to.equal(0n);
  });

  it("refuses a token that reverts or returns false, in funding and in claims; accepts one that returns nothing", async function () {
    const f = await deployPool("erc20", "RevertingToken");
    const tokenAbi = f.token.abi as Abi;
    await f.token.write.setMode([1]); // revert
    await expectRevert(f.pool.write.fund([100n]), "TransfersDisabled", [], tokenAbi);
    await f.token.write.setMode([2]); // return false
    await expectRevert(f.pool.write.fund([100n]), "SafeERC20FailedOperation", [getAddress(f.token.address)]);
    expect(await f.pool.read.totalFunded()).to.equal(0n);

    await f.token.write.setMode([0]);
    await fund(f, 100n);
    const alice = f.alice.account.address;
    const tree = await publish(f, 1n, [{ account: alice, cumulative: 60n }, { account: f.bob.account.address, cumulative: 40n }]);
    await f.token.write.setMode([1]);
    await expectRevert(claim(f, tree, alice), "TransfersDisabled", [], tokenAbi);
    await f.token.write.setMode([2]);
    await expectRevert(claim(f, tree, alice), "SafeERC20FailedOperation", [getAddress(f.token.address)]);
    expect(await f.pool.read.claimed([alice])).to.equal(0n);
    const batch = (accounts: Address[]) => {
      const leaves = accounts.map((a) => leafOf(tree, a));
      return f.asRelayer.write.claimMany([leaves.map((l) => l.account), leaves.map((l) => l.cumulative), leaves.map((l) => l.proof)]);
    };
    const both = [alice, f.bob.account.address];
    await expectRevert(batch(both), "SafeERC20FailedOperation", [getAddress(f.token.address)]);
    await f.token.write.setMode([1]);
    await expectRevert(batch(both), "TransfersDisabled", [], tokenAbi);
    expect(await f.pool.read.claimed([alice])).to.equal(0n);
    // A token whose transfer returns nothing (USDT-style) is accepted, as SafeERC20 accepts it.
    await f.token.write.setMode([3]);
    await claim(f, tree, alice);
    expect(await f.token.read.balanceOf([alice])).to.equal(60n);
    await batch([f.bob.account.address]);
    expect(await f.token.read.balanceOf([f.bob.account.address])).to.equal(40n);
  });
});
