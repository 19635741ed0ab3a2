// SPDX-License-Identifier: MIT
pragma solidity 0.8.28;

import {AccessControl} from "@openzeppelin/contracts/access/AccessControl.sol";
import {IERC20} from "@openzeppelin/contracts/token/ERC20/IERC20.sol";
import {SafeERC20} from "@openzeppelin/contracts/token/ERC20/utils/SafeERC20.sol";
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
        bytes32 root = _rootForClaims();
        uint256 amount = _record(root, account, cumulativeAmount, proof);
        _transferOut(account, amount);
    }

    /**
     * @notice Several claims in one transaction; all succeed or the whole call reverts.
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
        for (uint256 i; i < n; ) {
            address account;
            uint256 cumulativeAmount;
            bytes32[] calldata proof;
            // accounts[i], cumulativeAmounts[i], proofs[i] without the compiler's per-access checks:
            // the decoder has checked both flat arrays against the calldata (same length n, i < n);
            // the proof is checked here as the decoder would (empty revert on a dirty address or a
            // proof that does not fit in the calldata).
            assembly ("memory-safe") {
                let k := shl(5, i)
                account := calldataload(add(accounts.offset, k))
                cumulativeAmount := calldataload(add(cumulativeAmounts.offset, k))
                let rel := calldataload(add(proofs.offset, k))
                let at := add(proofs.offset, rel)
                proof.length := calldataload(at)
                proof.offset := add(at, 0x20)
                if or(
                    or(shr(160, account), gt(or(rel, proof.length), 0xffffffffffffffff)),
                    gt(add(proof.offset, shl(5, proof.length)), calldatasize())
                ) { revert(0, 0) }
            }
            _transferOut(account, _record(root, account, cumulativeAmount, proof));
            unchecked {
                ++i;
            }
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

    /// @dev Verifies the leaf and moves `claimed[account]` up to `cumulativeAmount`: the only storage
    /// write of a claim. Returns what is owed.
    function _record(bytes32 root, address account, uint256 cumulativeAmount, bytes32[] calldata proof)
        private
        returns (uint256 amount)
    {
        if (_processProof(proof, _leaf(account, cumulativeAmount)) != root) {
            revert InvalidProof(account, cumulativeAmount);
        }
        // claimed[account], read and written through its slot so the slot is hashed once.
        bytes32 slot;
        uint256 already;
        assembly ("memory-safe") {
            mstore(0x00, account)
            mstore(0x20, claimed.slot)
            slot := keccak256(0x00, 0x40)
            already := sload(slot)
        }
        if (cumulativeAmount <= already) revert NothingToClaim(account, cumulativeAmount, already);
        assembly ("memory-safe") {
            sstore(slot, cumulativeAmount)
        }
        unchecked {
            amount = cumulativeAmount - already;
        }
        emit Claimed(account, amount, cumulativeAmount);
    }

    /// @dev Pays out the reward asset. A native transfer that fails reverts the whole call (it forwards
    /// all gas, so contract wallets work; the lock and the earlier state write stop re-entry).
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

    /**
     * @dev Exactly OpenZeppelin's `MerkleProof.processProofCalldata` (sorted pairs, as in
     * `Hashes.commutativeKeccak256`: the smaller node is hashed first), in one assembly loop. The
     * library's loop costs ~240 gas per level (bounds checks, checked increments, internal calls),
     * this one ~130: ~2,000 gas less per claim at depth 20, the margin under the gas targets.
     * test/merkle.test.ts checks that both give the same result for random proofs. The ABI decoder
     * has already checked that the proof lies inside the calldata.
     */
    function _processProof(bytes32[] calldata proof, bytes32 leaf) private pure returns (bytes32 node) {
        assembly ("memory-safe") {
            node := leaf
            if proof.length {
                let p := proof.offset
                let end := add(p, shl(5, proof.length))
                for {} 1 {} {
                    let sibling := calldataload(p)
                    // Scratch space: the smaller of the two at 0x00, the larger at 0x20.
                    let nodeAt := shl(5, gt(node, sibling))
                    mstore(nodeAt, node)
                    mstore(xor(nodeAt, 0x20), sibling)
                    node := keccak256(0x00, 0x40)
                    p := add(p, 0x20)
                    if iszero(lt(p, end)) { break }
                }
            }
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
        return _processProof(proof, _leaf(account, cumulativeAmount)) == _currentRoot();
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
        if (_processProof(proof, _leaf(account, cumulativeAmount)) != _currentRoot()) return 0;
        uint256 already = claimed[account];
        return cumulativeAmount > already ? cumulativeAmount - already : 0;
    }
}
