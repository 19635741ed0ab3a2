// SPDX-License-Identifier: MIT
pragma solidity 0.8.28;

interface IPayoutPoolClaim {
    function claim(address account, uint256 cumulativeAmount, bytes32[] calldata proof) external;
}

/// @dev Test fixture: a contract account that, on receiving the native coin, claims again with the
/// same leaf. It records whether the nested claim succeeded; with `failOnReentryError` it reverts
/// instead, making the whole outer transfer fail.
contract ReentrantReceiver {
    IPayoutPoolClaim public pool;
    uint256 public cumulativeAmount;
    bytes32[] private _proof;
    bool public failOnReentryError;
    uint256 public reentryAttempts;
    uint256 public reentrySuccesses;
    bytes public lastReentryError;

    function arm(IPayoutPoolClaim pool_, uint256 cumulativeAmount_, bytes32[] calldata proof, bool failOnError)
        external
    {
        pool = pool_;
        cumulativeAmount = cumulativeAmount_;
        _proof = proof;
        failOnReentryError = failOnError;
    }

    receive() external payable {
        if (address(pool) == address(0) || reentryAttempts > 0) return;
        reentryAttempts++;
        try pool.claim(address(this), cumulativeAmount, _proof) {
            reentrySuccesses++;
        } catch (bytes memory reason) {
            lastReentryError = reason;
            if (failOnReentryError) {
                assembly {
                    revert(add(reason, 0x20), mload(reason))
                }
            }
        }
    }
}

/// @dev Test fixture: a contract account that refuses the native coin.
contract RejectingReceiver {
    receive() external payable {
        revert("no thanks");
    }
}
