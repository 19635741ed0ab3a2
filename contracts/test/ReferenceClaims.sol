// SPDX-License-Identifier: MIT
pragma solidity 0.8.28;

import {IERC20} from "@openzeppelin/contracts/token/ERC20/IERC20.sol";
import {SafeERC20} from "@openzeppelin/contracts/token/ERC20/utils/SafeERC20.sol";
import {MerkleProof} from "@openzeppelin/contracts/utils/cryptography/MerkleProof.sol";
import {ReentrancyGuardTransient} from "@openzeppelin/contracts/utils/ReentrancyGuardTransient.sol";

/**
 * @dev Test reference: PayoutPool's claim path (`claim`, `claimMany`) written in plain Solidity, with the
 * compiler's ABI decoding, OpenZeppelin's MerkleProof and SafeERC20, and no assembly. It holds one root,
 * set by whoever deploys it (no roles, no pause: those are not part of the claim path). Same events,
 * same errors, same order of checks, effects and transfers. test/payoutPool.differential.test.ts sends
 * the same mutated calldata to both and requires identical status, revert data, logs, balances and
 * `claimed`: what shows that PayoutPool's hand-written loop is safe is that it behaves exactly as this.
 */
contract ReferenceClaims is ReentrancyGuardTransient {
    using SafeERC20 for IERC20;

    struct Payment {
        address account;
        uint256 amount;
        uint256 cumulativeAmount;
    }

    /// @dev Same value as PayoutPool.BATCH_NATIVE_TRANSFER_GAS.
    uint256 public constant BATCH_NATIVE_TRANSFER_GAS = 50_000;

    address public immutable token;
    bytes32 public root;
    mapping(address account => uint256) public claimed;

    event Claimed(address indexed account, uint256 amount, uint256 cumulativeAmount);
    event ClaimedMany(Payment[] payments);

    error InvalidProof(address account, uint256 cumulativeAmount);
    error NothingToClaim(address account, uint256 cumulativeAmount, uint256 alreadyClaimed);
    error LengthMismatch();
    error NativeTransferFailed(address to, uint256 amount);

    constructor(address token_) {
        token = token_;
    }

    /// @dev Test setup: the root the claims are checked against.
    function setRoot(bytes32 root_) external {
        root = root_;
    }

    receive() external payable {}

    function claim(address account, uint256 cumulativeAmount, bytes32[] calldata proof) external nonReentrant {
        uint256 amount = _pay(account, cumulativeAmount, proof, false);
        emit Claimed(account, amount, cumulativeAmount);
    }

    function claimMany(
        address[] calldata accounts,
        uint256[] calldata cumulativeAmounts,
        bytes32[][] calldata proofs
    ) external nonReentrant {
        uint256 n = accounts.length;
        if (cumulativeAmounts.length != n || proofs.length != n) revert LengthMismatch();
        if (n == 0) return;
        Payment[] memory all = new Payment[](n);
        uint256 paid;
        for (uint256 i = 0; i < n; i++) {
            address account = accounts[i];
            uint256 cumulativeAmount = cumulativeAmounts[i];
            bytes32[] calldata proof = proofs[i];
            uint256 amount = _pay(account, cumulativeAmount, proof, true);
            if (amount == 0) continue;
            all[paid++] = Payment(account, amount, cumulativeAmount);
        }
        if (paid == 0) return;
        Payment[] memory payments = new Payment[](paid);
        for (uint256 i = 0; i < paid; i++) {
            payments[i] = all[i];
        }
        emit ClaimedMany(payments);
    }

    /// @dev Verifies, records and pays one claim; returns the amount paid (0: skipped, in a batch).
    function _pay(address account, uint256 cumulativeAmount, bytes32[] calldata proof, bool batch)
        private
        returns (uint256 amount)
    {
        bytes32 leaf = keccak256(bytes.concat(keccak256(abi.encode(account, cumulativeAmount))));
        if (MerkleProof.processProofCalldata(proof, leaf) != root) revert InvalidProof(account, cumulativeAmount);
        uint256 already = claimed[account];
        if (cumulativeAmount <= already) {
            if (batch) return 0;
            revert NothingToClaim(account, cumulativeAmount, already);
        }
        claimed[account] = cumulativeAmount;
        amount = cumulativeAmount - already;
        if (token == address(0)) {
            (bool ok,) = account.call{value: amount, gas: batch ? BATCH_NATIVE_TRANSFER_GAS : gasleft()}("");
            if (!ok) revert NativeTransferFailed(account, amount);
        } else {
            IERC20(token).safeTransfer(account, amount);
        }
    }
}
