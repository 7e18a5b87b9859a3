// SPDX-License-Identifier: Apache-2.0
pragma solidity 0.8.37;

/**
 * @title AnchorRegistry
 * @notice Records Merkle roots of credential batches: each root is anchored once, by one sender, at one block time.
 * @dev One root costs one storage slot: the sender (160 bits) and the block time (64 bits) are packed together, so an
 * anchor is a single cold SSTORE (22,100 gas) on top of the 21,000 gas of the transaction itself. Nothing personal is
 * ever stored here: only a 32-byte digest and the address that sent it (DESIGN.md, "Privacy by design").
 * Style follows OpenZeppelin: private state, custom errors prefixed with the contract name, past-tense indexed event.
 */
contract AnchorRegistry {
    /// @dev Packed into one slot: 20 bytes of address + 8 bytes of time = 28 bytes.
    struct Anchor {
        address sender;
        uint64 time;
    }

    mapping(bytes32 root => Anchor) private _anchors;

    /**
     * @notice Emitted once per root, when it is anchored.
     * @param root the Merkle root of the batch
     * @param sender the account that anchored it (the issuer's anchoring key)
     * @param time the timestamp of the block that recorded it
     */
    event RootAnchored(bytes32 indexed root, address indexed sender, uint64 time);

    /// @notice The root was anchored before; the existing record is returned so callers can report it.
    error AnchorRegistry__AlreadyAnchored(bytes32 root, address sender, uint64 time);

    /// @notice The zero root is refused: it is what an unset mapping entry reads as, and never a real Merkle root.
    error AnchorRegistry__ZeroRoot();

    /**
     * @notice Anchors `root` with the caller as sender and the current block time.
     * @dev Reverts with {AnchorRegistry__ZeroRoot} for a zero root and {AnchorRegistry__AlreadyAnchored} for a root
     * that already has a record. Emits {RootAnchored}.
     * @param root the Merkle root of a credential batch
     */
    function anchor(bytes32 root) external {
        if (root == bytes32(0)) {
            revert AnchorRegistry__ZeroRoot();
        }
        Anchor memory existing = _anchors[root];
        if (existing.sender != address(0)) {
            revert AnchorRegistry__AlreadyAnchored(root, existing.sender, existing.time);
        }
        uint64 time = uint64(block.timestamp);
        _anchors[root] = Anchor({sender: msg.sender, time: time});
        emit RootAnchored(root, msg.sender, time);
    }

    /**
     * @notice Reads the record of `root` in constant time (one storage read).
     * @param root the Merkle root to look up
     * @return sender the account that anchored it, or the zero address if it was never anchored
     * @return time the block time of the anchor, or 0 if it was never anchored
     */
    function anchorOf(bytes32 root) external view returns (address sender, uint64 time) {
        Anchor memory record = _anchors[root];
        return (record.sender, record.time);
    }
}
