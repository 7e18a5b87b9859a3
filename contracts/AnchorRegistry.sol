// SPDX-License-Identifier: Apache-2.0
pragma solidity 0.8.37;

/**
 * @title AnchorRegistry
 * @notice Records Merkle roots of credential batches: each root is anchored once, by one sender, at one block time.
 * It also keeps, per publisher, the latest digest of each status list (so a verifier can tell a current list from a
 * rolled-back or tampered one without the issuer's website), and logs the publisher's key events (added, retired,
 * revoked) so a key history can be checked from the ledger alone.
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

    /// @dev The latest publication of one status list: the digest (one slot), its version and time (one slot).
    struct Status {
        bytes32 digest;
        uint64 version;
        uint64 time;
    }

    /// @dev Key event kinds of {recordKeyEvent} (not public: the ABI stays the documented one).
    uint8 private constant KEY_ADDED = 1;
    uint8 private constant KEY_RETIRED = 2;
    uint8 private constant KEY_REVOKED = 3;

    mapping(bytes32 root => Anchor) private _anchors;

    /// @dev Keyed by publisher first: nobody can overwrite (or roll back) another publisher's list.
    mapping(address publisher => mapping(bytes32 listId => Status)) private _statuses;

    /**
     * @notice Emitted once per root, when it is anchored.
     * @param root the Merkle root of the batch
     * @param sender the account that anchored it (the issuer's anchoring key)
     * @param time the timestamp of the block that recorded it
     */
    event RootAnchored(bytes32 indexed root, address indexed sender, uint64 time);

    /**
     * @notice Emitted on every publication of a status list.
     * @param publisher the account that published it (the issuer's anchoring key)
     * @param listId keccak256 of the status list credential's URL
     * @param digest SHA-256 of the RDFC-1.0 canonical N-Quads of the signed status list credential
     * @param version 1 for the first publication of this list by this publisher, then +1 each time
     * @param time the timestamp of the block that recorded it
     */
    event StatusPublished(address indexed publisher, bytes32 indexed listId, bytes32 digest, uint64 version, uint64 time);

    /**
     * @notice Emitted for every key event of a controller (an issuer's anchoring account).
     * @param controller the account that recorded it
     * @param keyId keccak256 of the verification method id (e.g. `did:web:host#key-2`)
     * @param kind {KEY_ADDED}, {KEY_RETIRED} (rotated out) or {KEY_REVOKED} (compromised)
     * @param detail SHA-256 of the verification method's canonical JSON (zero for a revocation)
     * @param time the timestamp of the block that recorded it
     */
    event KeyEventRecorded(address indexed controller, bytes32 indexed keyId, uint8 kind, bytes32 detail, uint64 time);

    /// @notice The root was anchored before; the existing record is returned so callers can report it.
    error AnchorRegistry__AlreadyAnchored(bytes32 root, address sender, uint64 time);

    /// @notice The zero root is refused: it is what an unset mapping entry reads as, and never a real Merkle root.
    error AnchorRegistry__ZeroRoot();

    /// @notice The zero digest is refused: it is what an unpublished list reads as.
    error AnchorRegistry__ZeroDigest();

    /// @notice A key event kind other than {KEY_ADDED}, {KEY_RETIRED} or {KEY_REVOKED}.
    error AnchorRegistry__UnknownKeyEventKind(uint8 kind);

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

    /**
     * @notice Publishes `digest` as the latest state of the caller's status list `listId`.
     * @dev The version is the previous one + 1 (1 for the first publication). One transaction per publication of a
     * list, whatever the number of credentials whose status changed. Reverts with {AnchorRegistry__ZeroDigest} for
     * a zero digest. Emits {StatusPublished}.
     * @param listId keccak256 of the status list credential's URL
     * @param digest SHA-256 of the canonical form of the signed status list credential
     */
    function publishStatus(bytes32 listId, bytes32 digest) external {
        if (digest == bytes32(0)) {
            revert AnchorRegistry__ZeroDigest();
        }
        Status storage status = _statuses[msg.sender][listId];
        uint64 version = status.version + 1;
        uint64 time = uint64(block.timestamp);
        status.digest = digest;
        status.version = version;
        status.time = time;
        emit StatusPublished(msg.sender, listId, digest, version, time);
    }

    /**
     * @notice The latest publication of `publisher`'s list `listId` (two storage reads).
     * @return digest the latest digest, or zero if the list was never published
     * @return version the number of publications so far (0 if none)
     * @return time the block time of the latest publication (0 if none)
     */
    function statusOf(address publisher, bytes32 listId)
        external
        view
        returns (bytes32 digest, uint64 version, uint64 time)
    {
        Status memory status = _statuses[publisher][listId];
        return (status.digest, status.version, status.time);
    }

    /**
     * @notice Records a key event of the caller. Nothing is stored: the log is the record, and it carries the block
     * time, which a key thief cannot backdate.
     * @dev Reverts with {AnchorRegistry__UnknownKeyEventKind} for a kind outside 1..3. Emits {KeyEventRecorded}.
     * @param keyId keccak256 of the verification method id
     * @param kind {KEY_ADDED}, {KEY_RETIRED} or {KEY_REVOKED}
     * @param detail SHA-256 of the verification method's canonical JSON (zero for a revocation)
     */
    function recordKeyEvent(bytes32 keyId, uint8 kind, bytes32 detail) external {
        if (kind < KEY_ADDED || kind > KEY_REVOKED) {
            revert AnchorRegistry__UnknownKeyEventKind(kind);
        }
        emit KeyEventRecorded(msg.sender, keyId, kind, detail, uint64(block.timestamp));
    }
}
