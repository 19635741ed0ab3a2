// SPDX-License-Identifier: MIT
pragma solidity 0.8.28;

import {ERC20} from "@openzeppelin/contracts/token/ERC20/ERC20.sol";

/**
 * @title TestBTC
 * @notice A test-network stand-in for a BTC-pegged token: 8 decimals, so one satoshi of block
 * reward is one unit and a 50 BTC block reads as 50 tBTC. It has no peg and no value: the embedded
 * default and `scripts/deploy-token.ts` deploy it so that a pool on a development or test chain
 * pays in the units a miner expects.
 * @dev The deployer receives `initialSupply` and is the only minter.
 */
contract TestBTC is ERC20 {
    /// @notice The account allowed to mint (the deployer).
    address public immutable minter;

    /// @notice Thrown when anyone but the minter calls `mint`.
    error NotMinter(address caller);

    /// @param initialSupply Units (10^-8 tBTC) minted to the deployer.
    constructor(uint256 initialSupply) ERC20("Test BTC (no value)", "tBTC") {
        minter = msg.sender;
        _mint(msg.sender, initialSupply);
    }

    /// @notice 8, like bitcoin: one unit is one satoshi.
    function decimals() public pure override returns (uint8) {
        return 8;
    }

    /// @notice Mints `amount` units to `to` (the minter only).
    function mint(address to, uint256 amount) external {
        if (msg.sender != minter) revert NotMinter(msg.sender);
        _mint(to, amount);
    }
}
