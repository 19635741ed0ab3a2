// SPDX-License-Identifier: MIT
pragma solidity 0.8.28;

import {AccessControl} from "@openzeppelin/contracts/access/AccessControl.sol";
import {IERC20} from "@openzeppelin/contracts/token/ERC20/IERC20.sol";
import {SafeERC20} from "@openzeppelin/contracts/token/ERC20/utils/SafeERC20.sol";
import {MerkleProof} from "@openzeppelin/contracts/utils/cryptography/MerkleProof.sol";
import {ReentrancyGuardTransient} from "@openzeppelin/contracts/utils/ReentrancyGuardTransient.sol";

/**
 * @title PayoutPool
 * @notice Pays a mining pool's rewards from Merkle roots of cumulative allocations. One deployment per
 * pool and reward asset: an ERC-20, or the native coin when `token` is the zero address. Immutable.
 *
 * Leaf = keccak256(bytes.concat(keccak256(abi.encode(address account, uint256 cumulativeAmount)))),
 * sorted pairs (OpenZeppelin MerkleProof). Each leaf holds the total ever allocated to the account, so
 * a claim pays `cumulativeAmount - claimed[account]` and one claim covers any number of epochs.
 *
 * Trust model (each sentence, and what each pair of roles can do, is tested in
 * test/payoutPool.roles.test.ts; docs/contract.md has the table)
 * - Operator (OPERATOR_ROLE) proposes the next epoch's root. It cannot make a root active at once (a
 *   challenge window of `challengeWindow` seconds, 1 s to 30 days, applies, and it must run with claims
 *   open: see `acceptRoot`), cannot propose more than has been funded
 *   (`totalCumulative <= totalFunded`), cannot lower `totalCumulative`, and cannot move funds. What
 *   the contract cannot see is the split inside a root: a root that lowers or moves an account's
 *   amount is fraud that the off-chain auditor detects from the published epoch file, and that the
 *   guardian revokes inside the window.
 * - Guardian (GUARDIAN_ROLE) may revoke the pending root (named by epoch and root), and may pause claims
 *   for at most `maxPause` (capped here at 14 days). A pause ends by itself; the next one may start only
 *   `maxPause` after the previous one ended, so claims are open at least half of any period. It cannot
 *   touch the active root or any funds, and a pause cannot shorten the exit before a new root: a pending
 *   root becomes acceptable only once claims have been open for a whole challenge window since the
 *   later of its proposal and the end of the last pause.
 * - Admin (DEFAULT_ADMIN_ROLE) manages roles and may withdraw only the unallocated surplus:
 *   `totalFunded` minus the higher of the active and the pending `totalCumulative`. It cannot move
 *   allocated funds or change the active root. Since it can grant roles, a compromised admin can do
 *   what the operator and guardian can (and no more).
 * - A miner can always claim, from any address (a relayer may pay the gas; funds go to the account),
 *   everything the active root allocates to it, within at most `maxPause`. While a new root is
 *   pending, the previous active root keeps working, and no root becomes active before claims under
 *   the previous one have been open, without a pause, for `challengeWindow` seconds: a miner can always
 *   leave under the old root before a fraudulent successor takes effect, whatever operator, guardian
 *   and admin do together. Every active root is fully backed: only claims take funds
 *   out, a claim never pays an account past its active cumulative amount, and the active total never
 *   exceeds what was funded minus surplus withdrawals.
 * - Assets sent any way other than `fund`/`receive` are donations: they never count as funding.
 *
 * Gas: a claim reads one storage slot of this contract besides `claimed[account]` (the claim root,
 * which doubles as the pause flag, see `_claimRoot`) and writes only `claimed[account]`. The token is
 * immutable, the leaf and the proof are hashed in scratch space.
 */
contract PayoutPool is AccessControl, ReentrancyGuardTransient {
    using SafeERC20 for IERC20;

    /// @notice Role allowed to propose roots.
    bytes32 public constant OPERATOR_ROLE = keccak256("OPERATOR_ROLE");
    /// @notice Role allowed to revoke a pending root and to pause claims for a bounded time.
    bytes32 public constant GUARDIAN_ROLE = keccak256("GUARDIAN_ROLE");
    /// @notice Upper bound of `maxPause`, whatever the deployer asks for.
    uint256 public constant MAX_PAUSE_CAP = 14 days;
    /// @notice Shortest `challengeWindow`: a proposal and its accept are never in the same block. What is
    /// safe on a public chain is longer (hours); scripts/deploy.ts and the pool refuse less than
    /// 1 hour anywhere but on a local development chain.
    uint256 public constant MIN_CHALLENGE_WINDOW = 1;
    /// @notice Longest `challengeWindow` (so that `validAt` and the accept rule never overflow).
    uint256 public constant MAX_CHALLENGE_WINDOW = 30 days;
    /// @notice Gas a native transfer inside `claimMany` forwards to the receiver (plus the 2 300 stipend
    /// the EVM adds): enough for smart-contract wallets (a Safe's `receive` uses under 5 000), not
    /// enough for a receiver to make a relayed batch pay for gas it burns. `claim` forwards all gas.
    uint256 public constant BATCH_NATIVE_TRANSFER_GAS = 50_000;

    /// @notice The reward asset; the zero address means the native coin.
    address public immutable token;
    /// @notice Seconds a proposed root stays pending before anyone may accept it.
    uint64 public immutable challengeWindow;
    /// @notice Longest pause, and the least time between the end of a pause and the next one.
    uint64 public immutable maxPause;

    /// @notice One payment of a `claimMany`: `account` was paid `amount` and has now been paid
    /// `cumulativeAmount` in total.
    struct Payment {
        address account;
        uint256 amount;
        uint256 cumulativeAmount;
    }

    /// @dev Metadata of the active root and the end of the last pause. Claims never read it.
    struct ActiveState {
        uint64 epoch;
        uint64 pausedUntil;
        uint128 totalCumulative;
    }

    /// @dev Metadata of the pending root (one at a time; `root == 0` means none).
    struct PendingState {
        uint64 epoch;
        uint64 validAt;
        uint128 totalCumulative;
    }

    /**
     * @dev The one slot of this contract a claim reads besides `claimed[account]`. It holds either
     * - the active root, or
     * - a pause marker: the end time of the last pause, a number below 2^64. `pause()` parks the active
     *   root in `_parkedRoot` and writes the marker; the marker stays until the next `acceptRoot()`
     *   after the pause has ended (claims then read `_parkedRoot`, one more slot). Zero, before any
     *   root and any pause, is a marker of a pause that ended at time 0.
     * `proposeRoot` refuses roots below 2^64, so the two cannot be confused. Folding the pause flag
     * into the root slot saves a claim one cold storage read (2,100 gas).
     */
    bytes32 private _claimRoot;
    /// @dev The active root while `_claimRoot` holds a pause marker; stale and unused otherwise.
    bytes32 private _parkedRoot;
    ActiveState private _active;
    bytes32 private _pendingRoot;
    PendingState private _pending;

    /// @notice Everything funded through `fund`/`receive`, minus surplus withdrawals.
    uint256 public totalFunded;

    /// @notice Cumulative amount already paid to each account.
    mapping(address account => uint256) public claimed;

    /// @notice `amount` was added to `totalFunded` (now `totalFunded`) by `from`.
    event Funded(address indexed from, uint256 amount, uint256 totalFunded);
    /// @notice A root is pending until `validAt`; `dataHash`/`uri` identify its published epoch file.
    event RootProposed(
        uint64 indexed epoch, bytes32 root, uint256 totalCumulative, bytes32 dataHash, string uri, uint64 validAt
    );
    /// @notice The root of `epoch` is now the active root.
    event RootAccepted(uint64 indexed epoch, bytes32 root, uint256 totalCumulative);
    /// @notice The guardian discarded the pending root of `epoch`.
    event RootRevoked(uint64 indexed epoch, bytes32 root, address indexed guardian);
    /// @notice `account` was paid `amount`; it has now been paid `cumulativeAmount` in total.
    event Claimed(address indexed account, uint256 amount, uint256 cumulativeAmount);
    /// @notice `claimMany` paid each of `payments`, in order (one event per batch: a `Claimed` per account
    /// would cost each ~850 gas more).
    event ClaimedMany(Payment[] payments);
    /// @notice Claims are paused until `until` (a timestamp).
    event ClaimsPaused(address indexed guardian, uint64 until);
    /// @notice The admin withdrew `amount` of unallocated surplus to `to`; `totalFunded` is now lower.
    event SurplusWithdrawn(address indexed to, uint256 amount, uint256 totalFunded);

    error ZeroAddress();
    error MaxPauseTooLong(uint256 requested, uint256 cap);
    error ChallengeWindowOutOfRange(uint256 requested, uint256 min, uint256 max);
    error TokenNotAContract(address token);
    error ZeroAmount();
    error WrongFundingValue(uint256 amount, uint256 msgValue);
    error NativeNotAccepted();
    error FundingAmountMismatch(uint256 expected, uint256 received);
    error EpochNotNext(uint64 epoch, uint64 expected);
    error InvalidRoot(bytes32 root);
    error PendingRootExists(uint64 pendingEpoch);
    error TotalDecreased(uint256 totalCumulative, uint256 activeTotalCumulative);
    error Insolvent(uint256 totalCumulative, uint256 totalFunded);
    error AmountTooLarge(uint256 amount);
    error NoPendingRoot();
    error ChallengeWindowOpen(uint64 validAt);
    error PendingRootMismatch(uint64 epoch, bytes32 root, uint64 pendingEpoch, bytes32 pendingRoot);
    error PauseNotAllowed(uint64 nextPauseAt);
    error PausingDisabled();
    error SurplusExceeded(uint256 amount, uint256 surplus);
    error Paused(uint64 until);
    error InvalidProof(address account, uint256 cumulativeAmount);
    error NothingToClaim(address account, uint256 cumulativeAmount, uint256 alreadyClaimed);
    error LengthMismatch();
    error NativeTransferFailed(address to, uint256 amount);

    /**
     * @param token_ The reward asset (an ERC-20), or the zero address for the native coin.
     * @param admin Holder of DEFAULT_ADMIN_ROLE (roles, surplus).
     * @param operator Holder of OPERATOR_ROLE (proposes roots).
     * @param guardian Holder of GUARDIAN_ROLE (revokes pending roots, pauses claims).
     * @param challengeWindow_ Seconds between a proposal and the earliest accept, with claims open
     * (`MIN_CHALLENGE_WINDOW` to `MAX_CHALLENGE_WINDOW`).
     * @param maxPause_ Longest pause in seconds, at most 14 days.
     */
    constructor(
        address token_,
        address admin,
        address operator,
        address guardian,
        uint64 challengeWindow_,
        uint64 maxPause_
    ) {
        if (admin == address(0) || operator == address(0) || guardian == address(0)) revert ZeroAddress();
        if (maxPause_ > MAX_PAUSE_CAP) revert MaxPauseTooLong(maxPause_, MAX_PAUSE_CAP);
        if (challengeWindow_ < MIN_CHALLENGE_WINDOW || challengeWindow_ > MAX_CHALLENGE_WINDOW) {
            revert ChallengeWindowOutOfRange(challengeWindow_, MIN_CHALLENGE_WINDOW, MAX_CHALLENGE_WINDOW);
        }
        if (token_ != address(0) && token_.code.length == 0) revert TokenNotAContract(token_);
        token = token_;
        challengeWindow = challengeWindow_;
        maxPause = maxPause_;
        _grantRole(DEFAULT_ADMIN_ROLE, admin);
        _grantRole(OPERATOR_ROLE, operator);
        _grantRole(GUARDIAN_ROLE, guardian);
    }

    // ------------------------------------------------------------------ funding

    /**
     * @notice Adds `amount` of the reward asset to the pool. For an ERC-20, pulls it from the caller
     * (approve first) and refuses a token that delivers anything but exactly `amount` (fee on
     * transfer); for the native coin, send `amount` as the value.
     * @param amount The amount to add to `totalFunded`.
     */
    function fund(uint256 amount) external payable nonReentrant {
        if (amount == 0) revert ZeroAmount();
        if (token == address(0)) {
            if (msg.value != amount) revert WrongFundingValue(amount, msg.value);
        } else {
            if (msg.value != 0) revert WrongFundingValue(amount, msg.value);
            uint256 before = IERC20(token).balanceOf(address(this));
            IERC20(token).safeTransferFrom(msg.sender, address(this), amount);
            uint256 received = IERC20(token).balanceOf(address(this)) - before;
            if (received != amount) revert FundingAmountMismatch(amount, received);
        }
        _addFunding(amount);
    }

    /// @notice Native pools only: a plain transfer funds the pool like `fund(msg.value)`.
    receive() external payable nonReentrant {
        if (token != address(0)) revert NativeNotAccepted();
        if (msg.value == 0) revert ZeroAmount();
        _addFunding(msg.value);
    }

    function _addFunding(uint256 amount) private {
        uint256 total = totalFunded + amount;
        totalFunded = total;
        emit Funded(msg.sender, amount, total);
    }

    // ------------------------------------------------------------------ roots

    /**
     * @notice Proposes the root of epoch `epoch` (exactly the active epoch + 1). It becomes claimable
     * after `challengeWindow` seconds through `acceptRoot`. Only one root may be pending.
     * @param epoch The epoch number: the active epoch + 1 (a revoked epoch's number is reused).
     * @param root The Merkle root of (account, cumulative amount) leaves.
     * @param totalCumulative Sum of all cumulative amounts in the tree; never below the active one and
     * never above `totalFunded`.
     * @param dataHash keccak256 of the published epoch file, for auditors.
     * @param uri Where the epoch file is published.
     */
    function proposeRoot(uint64 epoch, bytes32 root, uint256 totalCumulative, bytes32 dataHash, string calldata uri)
        external
        onlyRole(OPERATOR_ROLE)
    {
        if (_isPauseMarker(root)) revert InvalidRoot(root);
        if (_pendingRoot != bytes32(0)) revert PendingRootExists(_pending.epoch);
        ActiveState memory active = _active;
        if (epoch != active.epoch + 1) revert EpochNotNext(epoch, active.epoch + 1);
        if (totalCumulative < active.totalCumulative) revert TotalDecreased(totalCumulative, active.totalCumulative);
        if (totalCumulative > totalFunded) revert Insolvent(totalCumulative, totalFunded);
        if (totalCumulative > type(uint128).max) revert AmountTooLarge(totalCumulative);

        uint64 validAt = uint64(block.timestamp) + challengeWindow;
        _pendingRoot = root;
        _pending = PendingState({epoch: epoch, validAt: validAt, totalCumulative: uint128(totalCumulative)});
        emit RootProposed(epoch, root, totalCumulative, dataHash, uri, validAt);
    }

    /**
     * @notice Makes the pending root active once claims under the active root have been open for a
     * whole challenge window since it was proposed: at `acceptableAt()`, the later of its `validAt` and
     * the end of the last pause plus `challengeWindow`. So a pause never eats into the time miners
     * have to leave under the old root, and no root is accepted while claims are paused. Anyone may
     * call it.
     */
    function acceptRoot() external nonReentrant {
        bytes32 root = _pendingRoot;
        if (root == bytes32(0)) revert NoPendingRoot();
        PendingState memory pending = _pending;
        uint64 readyAt = _acceptableAt(pending.validAt);
        if (block.timestamp < readyAt) revert ChallengeWindowOpen(readyAt);

        _claimRoot = root; // never paused here (see _acceptableAt): also clears a marker whose pause ended
        _active.epoch = pending.epoch;
        _active.totalCumulative = pending.totalCumulative;
        delete _pendingRoot;
        delete _pending;
        emit RootAccepted(pending.epoch, root, pending.totalCumulative);
    }

    /// @dev The time from which a root proposed with `validAt` may be accepted: claims must have been
    /// open (no pause) for `challengeWindow` seconds since the later of its proposal and the end of the
    /// last pause. Both terms are below 2^64 + 30 days, so neither overflows a uint256, and the result
    /// fits a uint64 for any timestamp before the year 584 billion.
    function _acceptableAt(uint64 validAt) private view returns (uint64) {
        uint256 afterPause = uint256(_active.pausedUntil) + challengeWindow;
        return afterPause > validAt ? uint64(afterPause) : validAt;
    }

    /**
     * @notice Discards the pending root `root` of `epoch` (the guardian's answer to a fraudulent or
     * broken root). The active root is untouched; the operator may propose the same epoch number again.
     * @param epoch The pending epoch.
     * @param root The pending root. Both are named so that a late revoke (a second watchtower, a
     * retried transaction) aimed at a root already revoked cannot hit the operator's corrected
     * re-proposal of the same epoch number.
     */
    function revokeRoot(uint64 epoch, bytes32 root) external onlyRole(GUARDIAN_ROLE) {
        bytes32 pendingRoot_ = _pendingRoot;
        if (pendingRoot_ == bytes32(0)) revert NoPendingRoot();
        if (epoch != _pending.epoch || root != pendingRoot_) {
            revert PendingRootMismatch(epoch, root, _pending.epoch, pendingRoot_);
        }
        delete _pendingRoot;
        delete _pending;
        emit RootRevoked(epoch, root, msg.sender);
    }

    // ------------------------------------------------------------------ guardian, admin

    /**
     * @notice Stops claims for `maxPause` seconds. The pause ends by itself; a new one may start only
     * `maxPause` seconds after the previous one ended.
     */
    function pause() external onlyRole(GUARDIAN_ROLE) {
        if (maxPause == 0) revert PausingDisabled();
        uint64 previousEnd = _active.pausedUntil;
        if (previousEnd != 0 && block.timestamp < uint256(previousEnd) + maxPause) {
            revert PauseNotAllowed(previousEnd + maxPause);
        }
        uint64 until = uint64(block.timestamp) + maxPause;
        bytes32 claimRoot = _claimRoot;
        if (!_isPauseMarker(claimRoot)) _parkedRoot = claimRoot; // else already parked (or no root yet)
        _claimRoot = bytes32(uint256(until));
        _active.pausedUntil = until;
        emit ClaimsPaused(msg.sender, until);
    }

    /**
     * @notice Sends `amount` of the unallocated surplus to `to` and lowers `totalFunded` by it.
     * @param to Recipient.
     * @param amount At most `surplus()`.
     */
    function withdrawSurplus(address to, uint256 amount) external onlyRole(DEFAULT_ADMIN_ROLE) nonReentrant {
        if (to == address(0)) revert ZeroAddress();
        if (amount == 0) revert ZeroAmount();
        uint256 available = surplus();
        if (amount > available) revert SurplusExceeded(amount, available);
        uint256 total = totalFunded - amount;
        totalFunded = total;
        emit SurplusWithdrawn(to, amount, total);
        _transferOut(to, amount);
    }

    // ------------------------------------------------------------------ claims

    /**
     * @notice Pays `account` the difference between `cumulativeAmount` and what it was already paid,
     * against the active root. Anyone may call it; the funds always go to `account`.
     * @param account The leaf's account (receives the funds).
     * @param cumulativeAmount The leaf's cumulative amount.
     * @param proof The leaf's Merkle proof against the active root.
     */
    function claim(address account, uint256 cumulativeAmount, bytes32[] calldata proof) external nonReentrant {
        // A batch of one, which _payEach reads from this call's head words: account at 0x04,
        // cumulativeAmount at 0x24, the proof's offset (from 0x04, where the arguments start) at 0x44.
        proof;
        uint256 payments = _payEach(_rootForClaims(), 1, 0x04, 0x24, 0x44, 0x04);
        uint256 amount;
        assembly ("memory-safe") {
            amount := mload(add(payments, 0x60))
        }
        emit Claimed(account, amount, cumulativeAmount);
    }

    /**
     * @notice Several claims in one transaction (what a relayer sends for miners without gas). An entry
     * whose account has already been paid its cumulative amount (by a claim sent meanwhile, or an
     * earlier entry of the same batch) is skipped; any other failure (bad proof, a receiver that
     * refuses the transfer) reverts the whole call. A native transfer forwards at most
     * `BATCH_NATIVE_TRANSFER_GAS`. Emits one `ClaimedMany` listing the entries paid (none when nothing
     * was paid) instead of a `Claimed` per account.
     * @param accounts Leaf accounts.
     * @param cumulativeAmounts Leaf cumulative amounts, index-aligned with `accounts`.
     * @param proofs Merkle proofs, index-aligned with `accounts`.
     */
    function claimMany(
        address[] calldata accounts,
        uint256[] calldata cumulativeAmounts,
        bytes32[][] calldata proofs
    ) external nonReentrant {
        uint256 n = accounts.length;
        if (cumulativeAmounts.length != n || proofs.length != n) revert LengthMismatch();
        bytes32 root = _rootForClaims();
        if (n == 0) return;
        uint256 accountsAt;
        uint256 amountsAt;
        uint256 proofsAt;
        assembly ("memory-safe") {
            accountsAt := accounts.offset
            amountsAt := cumulativeAmounts.offset
            proofsAt := proofs.offset
        }
        uint256 payments = _payEach(root, n, accountsAt, amountsAt, proofsAt, proofsAt);
        bytes32 topic = ClaimedMany.selector;
        assembly ("memory-safe") {
            let paid := mload(add(payments, 0x20))
            if paid { log1(payments, add(0x40, mul(paid, 0x60)), topic) }
        }
    }

    /// @dev The active root, or a revert while claims are paused. Reads `_claimRoot` only, unless a
    /// pause has ended and no root has been accepted since.
    function _rootForClaims() private view returns (bytes32 root) {
        root = _claimRoot;
        if (_isPauseMarker(root)) {
            if (block.timestamp < uint256(root)) revert Paused(uint64(uint256(root)));
            root = _parkedRoot;
        }
    }

    /// @dev The active root, whether or not a pause marker stands in its slot.
    function _currentRoot() private view returns (bytes32 root) {
        root = _claimRoot;
        if (_isPauseMarker(root)) root = _parkedRoot;
    }

    /// @dev True for values of `_claimRoot` that are pause markers (end times), not roots.
    function _isPauseMarker(bytes32 value) private pure returns (bool) {
        return uint256(value) <= type(uint64).max;
    }

    /**
     * @dev Pays `n` claims against `root`. Claim i is read from the calldata: its account at
     * `accountsAt + 32i`, its cumulative amount at `amountsAt + 32i`, and at `proofWordsAt + 32i` the
     * offset from `proofsBase` of its proof (a length word, then the hashes): the layout of
     * `claimMany`'s arrays, and, with n = 1, of `claim`'s arguments. For `claimMany` (told apart by
     * `proofWordsAt == proofsBase`, which `claim`'s layout never has: 0x44 and 0x04; a flag would not
     * fit the stack) an entry already paid is skipped instead of reverting, and a native transfer
     * forwards at most `BATCH_NATIVE_TRANSFER_GAS`.
     *
     * For each claim, in order: verify the leaf against `root` (OpenZeppelin's sorted-pair
     * `MerkleProof`, see `_leaf`), move `claimed[account]` up to the cumulative amount (the only
     * storage write), then pay the difference to the account. Returns a memory buffer holding the
     * ABI encoding of the `Payment[]` paid (offset, length, then (account, amount, cumulativeAmount)
     * per claim paid), the data of `ClaimedMany`.
     *
     * It is one assembly loop because `claimMany` pays for every instruction once per account (the
     * target is within 10% of calldata + storage writes + transfers, bench/payouts.ts); in Solidity,
     * with internal calls and SafeERC20, the same steps cost ~300 gas more per account. Errors are
     * the contract's own, encoded by hand (selectors checked by the tests that expect them):
     * - a malformed claim (dirty address, proof outside the calldata) reverts empty, with exactly the
     *   checks of the compiler's calldata accessors (`accounts[i]`, `proofs[i]`: the plain-Solidity
     *   copy in contracts/test/ReferenceClaims.sol, compared by test/payoutPool.differential.test.ts);
     * - InvalidProof(account, cumulativeAmount); NothingToClaim(account, cumulativeAmount, claimed)
     *   for `claim`, a skipped entry for `claimMany`;
     * - native coin: the value call forwards all gas for `claim`, `BATCH_NATIVE_TRANSFER_GAS` for
     *   `claimMany` (the reentrancy lock and the earlier state write stop re-entry), copies no return
     *   data, and a failure reverts NativeTransferFailed(account, amount);
     * - ERC-20: SafeERC20's rule: the call must succeed and return true, or return nothing from a
     *   token with code; a revert is bubbled up, anything else reverts SafeERC20FailedOperation(token).
     */
    function _payEach(
        bytes32 root,
        uint256 n,
        uint256 accountsAt,
        uint256 amountsAt,
        uint256 proofWordsAt,
        uint256 proofsBase
    ) private returns (uint256 payments) {
        address asset = token;
        assembly ("memory-safe") {
            // Reverts with the custom error `selector(a, b, c)` (`size` bytes: selector and arguments),
            // encoded past the free memory pointer.
            function fail(selector, a, b, c, size) {
                let e := mload(0x40)
                mstore(e, shl(224, selector))
                mstore(add(e, 0x04), a)
                mstore(add(e, 0x24), b)
                mstore(add(e, 0x44), c)
                revert(e, size)
            }
            // One level of the proof: the node and its sibling hashed in scratch space, the smaller first.
            function hashPair(node, sibling) -> parent {
                let nodeAt := shl(5, gt(node, sibling))
                mstore(nodeAt, node)
                mstore(xor(nodeAt, 0x20), sibling)
                parent := keccak256(0x00, 0x40)
            }
            payments := mload(0x40)
            mstore(0x40, add(add(payments, 0x40), mul(n, 0x60)))
            mstore(payments, 0x20)
            // Where the next payment is recorded.
            let at := add(payments, 0x40)
            let end := shl(5, n)
            for { let k := 0 } lt(k, end) { k := add(k, 0x20) } {
                let account := calldataload(add(accountsAt, k))
                let cumulativeAmount := calldataload(add(amountsAt, k))
                // p: the proof's first hash, pEnd: past its last. The checks are those of the compiler's
                // `proofs[i]` accessor (signed comparisons included) and of an address read from calldata.
                if shr(160, account) { revert(0, 0) }
                let p := calldataload(add(proofWordsAt, k))
                let pEnd := p
                {
                    if iszero(slt(p, sub(sub(calldatasize(), proofsBase), 0x1f))) { revert(0, 0) }
                    p := add(proofsBase, p)
                    let length := calldataload(p)
                    if gt(length, 0xffffffffffffffff) { revert(0, 0) }
                    p := add(p, 0x20)
                    pEnd := shl(5, length)
                    if sgt(p, sub(calldatasize(), pEnd)) { revert(0, 0) }
                    pEnd := add(p, pEnd)
                }

                // The leaf, then the proof: eight levels per turn, then four, two and one as needed
                // (the optimizer inlines hashPair; unrolled, a level costs ~96 gas instead of ~130).
                mstore(0x00, account)
                mstore(0x20, cumulativeAmount)
                mstore(0x00, keccak256(0x00, 0x40))
                let node := keccak256(0x00, 0x20)
                for {} lt(add(p, 0xe0), pEnd) { p := add(p, 0x100) } {
                    node := hashPair(node, calldataload(p))
                    node := hashPair(node, calldataload(add(p, 0x20)))
                    node := hashPair(node, calldataload(add(p, 0x40)))
                    node := hashPair(node, calldataload(add(p, 0x60)))
                    node := hashPair(node, calldataload(add(p, 0x80)))
                    node := hashPair(node, calldataload(add(p, 0xa0)))
                    node := hashPair(node, calldataload(add(p, 0xc0)))
                    node := hashPair(node, calldataload(add(p, 0xe0)))
                }
                if lt(add(p, 0x60), pEnd) {
                    node := hashPair(node, calldataload(p))
                    node := hashPair(node, calldataload(add(p, 0x20)))
                    node := hashPair(node, calldataload(add(p, 0x40)))
                    node := hashPair(node, calldataload(add(p, 0x60)))
                    p := add(p, 0x80)
                }
                if lt(add(p, 0x20), pEnd) {
                    node := hashPair(node, calldataload(p))
                    node := hashPair(node, calldataload(add(p, 0x20)))
                    p := add(p, 0x40)
                }
                if lt(p, pEnd) {
                    node := hashPair(node, calldataload(p))
                }
                if iszero(eq(node, root)) {
                    fail(0xadbd6512, account, cumulativeAmount, 0, 0x44) // InvalidProof(address,uint256)
                }

                // claimed[account]: read, check, write (checks and effects before the transfer).
                mstore(0x00, account)
                mstore(0x20, claimed.slot)
                let slot := keccak256(0x00, 0x40)
                let amount := sload(slot)
                if iszero(gt(cumulativeAmount, amount)) {
                    if eq(proofWordsAt, proofsBase) { continue } // claimMany: an entry already paid is skipped
                    fail(0x0cfa2bb0, account, cumulativeAmount, amount, 0x64) // NothingToClaim(address,uint256,uint256)
                }
                sstore(slot, cumulativeAmount)
                amount := sub(cumulativeAmount, amount)
                mstore(at, account)
                mstore(add(at, 0x20), amount)
                mstore(add(at, 0x40), cumulativeAmount)
                at := add(at, 0x60)

                // The transfer.
                switch asset
                case 0 {
                    // claimMany forwards BATCH_NATIVE_TRANSFER_GAS, claim all gas.
                    let g := gas()
                    if eq(proofWordsAt, proofsBase) { g := 50000 }
                    if iszero(call(g, account, amount, 0, 0, 0, 0)) {
                        fail(0xa5b05eec, account, amount, 0, 0x44) // NativeTransferFailed(address,uint256)
                    }
                }
                default {
                    let m := mload(0x40)
                    mstore(m, shl(224, 0xa9059cbb)) // transfer(address,uint256)
                    mstore(add(m, 0x04), account)
                    mstore(add(m, 0x24), amount)
                    // The return word lands on the call's own first word, which is not 1 (the selector).
                    let ok := call(gas(), asset, 0, m, 0x44, m, 0x20)
                    if iszero(and(ok, eq(mload(m), 1))) {
                        if iszero(ok) {
                            returndatacopy(m, 0x00, returndatasize())
                            revert(m, returndatasize())
                        }
                        if iszero(and(iszero(returndatasize()), gt(extcodesize(asset), 0))) {
                            fail(0x5274afe7, asset, 0, 0, 0x24) // SafeERC20FailedOperation(address)
                        }
                    }
                }
            }
            mstore(add(payments, 0x20), div(sub(at, add(payments, 0x40)), 0x60))
        }
    }

    /// @dev Pays out the reward asset outside claims (surplus withdrawals). A native transfer that
    /// fails reverts the whole call.
    function _transferOut(address to, uint256 amount) private {
        if (token == address(0)) {
            bool ok;
            // No return data is copied: a receiver cannot make us pay for a huge revert message.
            assembly ("memory-safe") {
                ok := call(gas(), to, amount, 0, 0, 0, 0)
            }
            if (!ok) revert NativeTransferFailed(to, amount);
        } else {
            IERC20(token).safeTransfer(to, amount);
        }
    }

    /// @dev keccak256(bytes.concat(keccak256(abi.encode(account, cumulativeAmount)))) in scratch space,
    /// without allocating memory. `account` is a decoded address, so its upper 96 bits are clean.
    function _leaf(address account, uint256 cumulativeAmount) private pure returns (bytes32 leaf) {
        assembly ("memory-safe") {
            mstore(0x00, account)
            mstore(0x20, cumulativeAmount)
            mstore(0x00, keccak256(0x00, 0x40))
            leaf := keccak256(0x00, 0x20)
        }
    }

    // ------------------------------------------------------------------ views

    /// @notice The active root, its epoch and its total of cumulative amounts (all zero before the first).
    function activeRoot() external view returns (bytes32 root, uint64 epoch, uint256 totalCumulative) {
        return (_currentRoot(), _active.epoch, _active.totalCumulative);
    }

    /// @notice The pending root, its epoch, total and the time from which `acceptRoot` works (all zero
    /// when nothing is pending).
    function pendingRoot()
        external
        view
        returns (bytes32 root, uint64 epoch, uint256 totalCumulative, uint64 validAt)
    {
        return (_pendingRoot, _pending.epoch, _pending.totalCumulative, _pending.validAt);
    }

    /// @notice When `acceptRoot` will work for the pending root if no pause starts meanwhile (0 when
    /// nothing is pending): the later of its `validAt` and the end of the last pause + `challengeWindow`.
    function acceptableAt() external view returns (uint64) {
        if (_pendingRoot == bytes32(0)) return 0;
        return _acceptableAt(_pending.validAt);
    }

    /// @notice End of the current or last pause (0 if never paused); claims work from that time on.
    function pausedUntil() external view returns (uint64) {
        return _active.pausedUntil;
    }

    /// @notice True while claims are paused.
    function isPaused() external view returns (bool) {
        return block.timestamp < _active.pausedUntil;
    }

    /// @notice What the admin may withdraw: `totalFunded` minus the higher of the active and pending totals.
    function surplus() public view returns (uint256) {
        uint256 allocated = _active.totalCumulative;
        if (_pending.totalCumulative > allocated) allocated = _pending.totalCumulative;
        return totalFunded - allocated;
    }

    /// @notice Whether (`account`, `cumulativeAmount`) with `proof` is a leaf of the active root.
    function verifyProof(address account, uint256 cumulativeAmount, bytes32[] calldata proof)
        external
        view
        returns (bool)
    {
        return MerkleProof.processProofCalldata(proof, _leaf(account, cumulativeAmount)) == _currentRoot();
    }

    /**
     * @notice What `claim(account, cumulativeAmount, proof)` would pay now, ignoring a pause: 0 when the
     * proof is not valid against the active root or nothing is owed.
     */
    function claimable(address account, uint256 cumulativeAmount, bytes32[] calldata proof)
        external
        view
        returns (uint256)
    {
        if (MerkleProof.processProofCalldata(proof, _leaf(account, cumulativeAmount)) != _currentRoot()) return 0;
        uint256 already = claimed[account];
        return cumulativeAmount > already ? cumulativeAmount - already : 0;
    }
}
