// SPDX-License-Identifier: MIT
pragma solidity 0.8.28;

/// @dev Test fixture: pushes its value to `to` without calling it (SELFDESTRUCT), the way a donation
/// can reach a contract that has no payable entry point for it.
contract ForceSend {
    constructor(address payable to) payable {
        selfdestruct(to);
    }
}
