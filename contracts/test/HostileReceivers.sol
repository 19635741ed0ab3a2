// SPDX-License-Identifier: MIT
pragma solidity 0.8.28;

/// @dev Test fixture: a receiver that burns every unit of gas it is given (a griefer making a relayed
/// batch pay for its gas).
contract GasBurner {
    receive() external payable {
        while (true) {}
    }
}

/// @dev Test fixture: a receiver that uses `cost` gas (roughly) and then accepts the coin; models a
/// smart-contract wallet with a given `receive` cost.
contract GasUser {
    uint256 public immutable cost;
    uint256 public received;

    constructor(uint256 cost_) {
        cost = cost_;
    }

    receive() external payable {
        uint256 stop = gasleft() > cost ? gasleft() - cost : 0;
        while (gasleft() > stop) {}
        received += msg.value;
    }
}

interface IAcceptRoot {
    function acceptRoot() external;
}

/// @dev Test fixture: on receiving the native coin, calls `acceptRoot` on the pool (re-entry from a
/// claim's transfer) and records the outcome without reverting.
contract ReentrantAcceptor {
    IAcceptRoot public pool;
    bool public attempted;
    bool public succeeded;
    bytes public lastError;

    function arm(IAcceptRoot pool_) external {
        pool = pool_;
    }

    receive() external payable {
        if (address(pool) == address(0) || attempted) return;
        attempted = true;
        try pool.acceptRoot() {
            succeeded = true;
        } catch (bytes memory reason) {
            lastError = reason;
        }
    }
}

/// @dev Test fixture: refuses the native coin until `setAccepting(true)` (a wallet that gets fixed).
contract ToggleReceiver {
    bool public accepting;

    function setAccepting(bool value) external {
        accepting = value;
    }

    receive() external payable {
        require(accepting, "not accepting");
    }
}
