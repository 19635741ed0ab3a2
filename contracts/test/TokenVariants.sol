// SPDX-License-Identifier: MIT
pragma solidity 0.8.28;

import {ERC20} from "@openzeppelin/contracts/token/ERC20/ERC20.sol";

/// @dev Test fixture: an ERC-20 whose owner can blacklist addresses (USDC/USDT-style): a transfer to or
/// from a blacklisted address reverts `Blacklisted(account)`.
contract BlacklistToken is ERC20 {
    mapping(address => bool) public blacklisted;

    error Blacklisted(address account);

    constructor() ERC20("Blacklist Token", "BLK") {}

    function mint(address to, uint256 amount) external {
        _mint(to, amount);
    }

    function setBlacklisted(address account, bool value) external {
        blacklisted[account] = value;
    }

    function _update(address from, address to, uint256 value) internal override {
        if (blacklisted[from]) revert Blacklisted(from);
        if (blacklisted[to]) revert Blacklisted(to);
        super._update(from, to, value);
    }
}

/// @dev Test fixture: an ERC-20 with no fee until `setFeeBps` switches one on (USDT's dormant fee): the
/// receiver of a transfer then gets `value - value * feeBps / 10 000`, the rest is burnt.
contract FeeSwitchToken is ERC20 {
    uint256 public feeBps;

    constructor() ERC20("Fee Switch Token", "FSW") {}

    function mint(address to, uint256 amount) external {
        _mint(to, amount);
    }

    function setFeeBps(uint256 bps) external {
        feeBps = bps;
    }

    function _update(address from, address to, uint256 value) internal override {
        uint256 fee = from == address(0) || to == address(0) ? 0 : (value * feeBps) / 10_000;
        if (fee > 0) super._update(from, address(0), fee);
        super._update(from, to, value - fee);
    }
}

/// @dev Test fixture: a rebasing ERC-20 (shares times an index, stETH/AMPL-style): `rebase` scales
/// every balance by `numerator / denominator` without any transfer.
contract RebasingToken is ERC20 {
    uint256 public numerator = 1;
    uint256 public denominator = 1;

    constructor() ERC20("Rebasing Token", "REB") {}

    function mint(address to, uint256 amount) external {
        _mint(to, (amount * denominator) / numerator);
    }

    function rebase(uint256 numerator_, uint256 denominator_) external {
        numerator = numerator_;
        denominator = denominator_;
    }

    function balanceOf(address account) public view override returns (uint256) {
        return (super.balanceOf(account) * numerator) / denominator;
    }

    function totalSupply() public view override returns (uint256) {
        return (super.totalSupply() * numerator) / denominator;
    }

    function _update(address from, address to, uint256 value) internal override {
        super._update(from, to, (value * denominator) / numerator);
    }
}
