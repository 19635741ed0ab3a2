// SPDX-License-Identifier: MIT
pragma solidity 0.8.28;

import {ERC20} from "@openzeppelin/contracts/token/ERC20/ERC20.sol";

/// @dev Test fixture: an ERC-20 whose transfers can be switched to revert, to return false, or to return
/// nothing (as USDT does).
contract RevertingToken is ERC20 {
    enum Mode {
        Normal,
        Revert,
        ReturnFalse,
        ReturnNothing
    }

    Mode public mode;

    error TransfersDisabled();

    constructor() ERC20("Reverting Token", "REV") {}

    function mint(address to, uint256 amount) external {
        _mint(to, amount);
    }

    function setMode(Mode mode_) external {
        mode = mode_;
    }

    function transfer(address to, uint256 value) public override returns (bool) {
        if (mode == Mode.Revert) revert TransfersDisabled();
        if (mode == Mode.ReturnFalse) return false;
        if (mode == Mode.ReturnNothing) {
            super.transfer(to, value);
            assembly ("memory-safe") {
                return(0, 0)
            }
        }
        return super.transfer(to, value);
    }

    function transferFrom(address from, address to, uint256 value) public override returns (bool) {
        if (mode == Mode.Revert) revert TransfersDisabled();
        if (mode == Mode.ReturnFalse) return false;
        return super.transferFrom(from, to, value);
    }
}
