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
 * Trust model
 * - Operator (OPERATOR_ROLE) proposes the next epoch's root. It cannot make a root active at once (a
 *   challenge window of `challengeWindow` seconds applies), cannot propose more than has been funded
 *   (`totalCumulative <= totalFunded`), cannot lower `totalCumulative`, and cannot move funds. What
 *   the contract cannot see is the split inside a root: a root that lowers or moves an account's
 *   amount is fraud that the off-chain auditor detects from the published epoch file, and that the
 *   guardian revokes inside the window.
 * - Guardian (GUARDIAN_ROLE) may revoke the pending root, and may pause claims for at most `maxPause`
 *   (capped here at 14 days). A pause ends by itself; the next one may start only `maxPause` after the
 *   previous one ended, so claims are open at least half of any period. It cannot touch the active
 *   root or any funds.
 * - Admin (DEFAULT_ADMIN_ROLE) manages roles and may withdraw only the unallocated surplus:
 *   `totalFunded` minus the higher of the active and the pending `totalCumulative`. It cannot move
 *   allocated funds or change the active root. Since it can grant roles, a compromised admin can do
 *   what the operator and guardian can (and no more).
 * - A miner can always claim, from any address (a relayer may pay the gas; funds go to the account),
 *   everything the active root allocates to it, within at most `maxPause`. While a new root is
 *   pending, the previous active root keeps working, so a miner can claim under it before a
 *   fraudulent successor could take effect. Every active root is fully backed: only claims take funds
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
    error PendingEpochMismatch(uint64 epoch, uint64 pendingEpoch);
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
     * @param challengeWindow_ Seconds between a proposal and the earliest accept (0 for local use).
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
     * @notice Makes the pending root active once its challenge window has passed. Anyone may call it.
     */
    function acceptRoot() external {
        bytes32 root = _pendingRoot;
        if (root == bytes32(0)) revert NoPendingRoot();
        PendingState memory pending = _pending;
        if (block.timestamp < pending.validAt) revert ChallengeWindowOpen(pending.validAt);

        bytes32 claimRoot = _claimRoot;
        if (_isPauseMarker(claimRoot) && block.timestamp < uint256(claimRoot)) {
            _parkedRoot = root; // paused: the marker stays until the pause has ended
        } else {
            _claimRoot = root; // also clears a marker whose pause has ended
        }
        _active.epoch = pending.epoch;
        _active.totalCumulative = pending.totalCumulative;
        delete _pendingRoot;
        delete _pending;
        emit RootAccepted(pending.epoch, root, pending.totalCumulative);
    }

    /**
     * @notice Discards the pending root of `epoch` (the guardian's answer to a fraudulent or broken
     * root). The active root is untouched; the operator may propose the same epoch number again.
     * @param epoch The pending epoch, named explicitly so a stale revoke cannot hit a newer proposal.
     */
    function revokeRoot(uint64 epoch) external onlyRole(GUARDIAN_ROLE) {
        bytes32 root = _pendingRoot;
        if (root == bytes32(0)) revert NoPendingRoot();
        if (epoch != _pending.epoch) revert PendingEpochMismatch(epoch, _pending.epoch);
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
     * @notice Several claims in one transaction; all succeed or the whole call reverts. Emits one
     * `ClaimedMany` for the batch instead of a `Claimed` per account.
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
            log1(payments, add(0x40, mul(n, 0x60)), topic)
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
     * `claimMany`'s arrays, and, with n = 1, of `claim`'s arguments.
     *
     * For each claim, in order: verify the leaf against `root` (OpenZeppelin's sorted-pair
     * `MerkleProof`, see `_leaf`), move `claimed[account]` up to the cumulative amount (the only
     * storage write), then pay the difference to the account. Returns a memory buffer holding the
     * ABI encoding of the `Payment[]` paid (offset, length, then (account, amount, cumulativeAmount)
     * per claim), the data of `ClaimedMany`.
     *
     * It is one assembly loop because `claimMany` pays for every instruction once per account (the
     * target is within 10% of calldata + storage writes + transfers, bench/payouts.ts); in Solidity,
     * with internal calls and SafeERC20, the same steps cost ~300 gas more per account. Errors are
     * the contract's own, encoded by hand (selectors checked by the tests that expect them):
     * - a malformed claim (dirty address, proof outside the calldata) reverts empty, as the ABI
     *   decoder would;
     * - InvalidProof(account, cumulativeAmount), NothingToClaim(account, cumulativeAmount, claimed);
     * - native coin: the value call forwards all gas (contract wallets work; the reentrancy lock and
     *   the earlier state write stop re-entry), copies no return data, and a failure reverts
     *   NativeTransferFailed(account, amount);
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
            mstore(add(payments, 0x20), n)
            let end := shl(5, n)
            for { let k := 0 } lt(k, end) { k := add(k, 0x20) } {
                let account := calldataload(add(accountsAt, k))
                let cumulativeAmount := calldataload(add(amountsAt, k))
                // p: the proof's first hash, pEnd: past its last.
                let p := calldataload(add(proofWordsAt, k))
                let pEnd := add(proofsBase, p)
                {
                    let length := calldataload(pEnd)
                    if or(or(shr(160, account), gt(or(p, length), 0xffffffffffffffff)),
                        gt(add(pEnd, add(0x20, shl(5, length))), calldatasize())) { revert(0, 0) }
                    p := add(pEnd, 0x20)
                    pEnd := add(p, shl(5, length))
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
                    fail(0x0cfa2bb0, account, cumulativeAmount, amount, 0x64) // NothingToClaim(address,uint256,uint256)
                }
                sstore(slot, cumulativeAmount)
                amount := sub(cumulativeAmount, amount)
                {
                    let at := add(add(payments, 0x40), mul(k, 3))
                    mstore(at, account)
                    mstore(add(at, 0x20), amount)
                    mstore(add(at, 0x40), cumulativeAmount)
                }

                // The transfer.
                switch asset
                case 0 {
                    if iszero(call(gas(), account, amount, 0, 0, 0, 0)) {
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
