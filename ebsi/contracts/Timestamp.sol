// SPDX-License-Identifier: Apache-2.0
pragma solidity 0.8.37;

/**
 * @title Timestamp
 * @notice Records that a hash existed at a block time, and who said so: anchorcred's local stand-in for EBSI's
 * Timestamp service. Function names and semantics follow EBSI's public Timestamp API v4 documentation
 * (`timestampHashes`, a table of hash algorithms, timestamp ids = sha256 of the timestamped hash); the code is written
 * here, not taken from EBSI (whose contracts are under a copyleft licence).
 * @dev A timestamp id is `sha256(hashValue)`, whatever the algorithm of the hash (EBSI's rule, so ids are 32 bytes).
 * One id may be timestamped by several accounts, each at most once: a third party who copies a hash from the mempool
 * and timestamps it first does not stop its owner from timestamping it too, and a reader looks up the record of the
 * account it cares about in constant time ({getTimestampBy}). Nothing personal is stored: hashes and addresses only.
 */
contract Timestamp {
    /// @notice A hash algorithm of the table. `status` is 1 (active) or 2 (revoked: no new timestamps with it).
    struct HashAlgorithm {
        uint16 outputLength; // bits
        uint8 status;
        string ianaName;
        string oid;
        string multihash;
    }

    /// @notice One account's timestamp of one hash.
    struct TimestampRecord {
        address timestampedBy;
        uint64 blockNumber;
        uint64 time;
        uint256 hashAlgorithmId;
        bytes hashValue;
        bytes data;
    }

    uint8 public constant STATUS_ACTIVE = 1;
    uint8 public constant STATUS_REVOKED = 2;
    /// @notice At most this many hashes per transaction (EBSI: "up to 3 hashes in a single transaction").
    uint256 public constant MAX_HASHES = 3;
    /// @notice Timestamp data is a small JSON text, not a document store.
    uint256 public constant MAX_DATA_BYTES = 4096;

    address private immutable _admin;
    HashAlgorithm[] private _algorithms;
    mapping(bytes32 timestampId => TimestampRecord[]) private _records;
    /// @dev index + 1 of `account`'s record of `timestampId` (0: none).
    mapping(bytes32 timestampId => mapping(address account => uint256)) private _recordIndex;
    bytes32[] private _ids;

    /// @notice Emitted for every hash timestamped. `index` is the record's position among the id's records.
    event HashTimestamped(bytes32 indexed timestampId, address indexed timestampedBy, uint256 hashAlgorithmId, uint256 index);
    event HashAlgorithmInserted(uint256 indexed hashAlgorithmId, string ianaName, uint16 outputLength);
    event HashAlgorithmUpdated(uint256 indexed hashAlgorithmId, uint8 status);

    error Timestamp__NotAdmin(address caller);
    error Timestamp__AlreadyTimestamped(bytes32 timestampId, address timestampedBy);
    error Timestamp__BadHashCount(uint256 algorithms, uint256 hashes);
    error Timestamp__UnknownHashAlgorithm(uint256 hashAlgorithmId);
    error Timestamp__HashAlgorithmRevoked(uint256 hashAlgorithmId);
    error Timestamp__HashLengthMismatch(uint256 hashAlgorithmId, uint256 expectedBits, uint256 actualBits);
    error Timestamp__DataTooLarge(uint256 size, uint256 limit);
    error Timestamp__BadStatus(uint8 status);
    error Timestamp__BadOutputLength(uint16 outputLength);
    error Timestamp__UnknownTimestamp(bytes32 timestampId);
    error Timestamp__IndexOutOfRange(uint256 index, uint256 length);

    modifier onlyAdmin() {
        if (msg.sender != _admin) {
            revert Timestamp__NotAdmin(msg.sender);
        }
        _;
    }

    /// @dev Algorithm 0 is SHA-256 (FIPS 180-4), the hash of every anchorcred Merkle root.
    constructor() {
        _admin = msg.sender;
        _algorithms.push(HashAlgorithm(256, STATUS_ACTIVE, "sha-256", "2.16.840.1.101.3.4.2.1", "sha2-256"));
        emit HashAlgorithmInserted(0, "sha-256", 256);
    }

    /// @notice The account allowed to change the hash-algorithm table (the ledger operator).
    function admin() external view returns (address) {
        return _admin;
    }

    /// @notice Adds a hash algorithm; its id is its position in the table.
    function insertHashAlgorithm(
        uint16 outputLength,
        string calldata ianaName,
        string calldata oid,
        uint8 status,
        string calldata multihash
    ) external onlyAdmin {
        _checkAlgorithm(outputLength, status);
        _algorithms.push(HashAlgorithm(outputLength, status, ianaName, oid, multihash));
        emit HashAlgorithmInserted(_algorithms.length - 1, ianaName, outputLength);
    }

    /// @notice Replaces a hash algorithm's description (e.g. status 2 to stop new timestamps with it).
    function updateHashAlgorithm(
        uint256 hashAlgorithmId,
        uint16 outputLength,
        string calldata ianaName,
        string calldata oid,
        uint8 status,
        string calldata multihash
    ) external onlyAdmin {
        if (hashAlgorithmId >= _algorithms.length) {
            revert Timestamp__UnknownHashAlgorithm(hashAlgorithmId);
        }
        _checkAlgorithm(outputLength, status);
        _algorithms[hashAlgorithmId] = HashAlgorithm(outputLength, status, ianaName, oid, multihash);
        emit HashAlgorithmUpdated(hashAlgorithmId, status);
    }

    /**
     * @notice Timestamps 1 to 3 hashes with the caller as `timestampedBy` and the current block's number and time.
     * @param hashAlgorithmIds the algorithm of each hash (ids of the table)
     * @param hashValues the hashes, each exactly as long as its algorithm's output
     * @param timestampData optional data stored with every record (JSON text; at most {MAX_DATA_BYTES})
     */
    function timestampHashes(
        uint256[] calldata hashAlgorithmIds,
        bytes[] calldata hashValues,
        bytes calldata timestampData
    ) external {
        uint256 n = hashValues.length;
        if (n == 0 || n > MAX_HASHES || hashAlgorithmIds.length != n) {
            revert Timestamp__BadHashCount(hashAlgorithmIds.length, n);
        }
        if (timestampData.length > MAX_DATA_BYTES) {
            revert Timestamp__DataTooLarge(timestampData.length, MAX_DATA_BYTES);
        }
        for (uint256 i = 0; i < n; i++) {
            _timestamp(hashAlgorithmIds[i], hashValues[i], timestampData);
        }
    }

    function _timestamp(uint256 algorithmId, bytes calldata hashValue, bytes calldata data) private {
        if (algorithmId >= _algorithms.length) {
            revert Timestamp__UnknownHashAlgorithm(algorithmId);
        }
        HashAlgorithm storage algorithm = _algorithms[algorithmId];
        if (algorithm.status != STATUS_ACTIVE) {
            revert Timestamp__HashAlgorithmRevoked(algorithmId);
        }
        if (hashValue.length * 8 != algorithm.outputLength) {
            revert Timestamp__HashLengthMismatch(algorithmId, algorithm.outputLength, hashValue.length * 8);
        }
        bytes32 id = sha256(hashValue);
        if (_recordIndex[id][msg.sender] != 0) {
            revert Timestamp__AlreadyTimestamped(id, msg.sender);
        }
        TimestampRecord[] storage records = _records[id];
        if (records.length == 0) {
            _ids.push(id);
        }
        records.push(
            TimestampRecord(msg.sender, uint64(block.number), uint64(block.timestamp), algorithmId, hashValue, data)
        );
        _recordIndex[id][msg.sender] = records.length;
        emit HashTimestamped(id, msg.sender, algorithmId, records.length - 1);
    }

    function _checkAlgorithm(uint16 outputLength, uint8 status) private pure {
        if (status != STATUS_ACTIVE && status != STATUS_REVOKED) {
            revert Timestamp__BadStatus(status);
        }
        if (outputLength == 0 || outputLength % 8 != 0) {
            revert Timestamp__BadOutputLength(outputLength);
        }
    }

    // ------------------------------------------------------------------------------------------------------ reads

    function hashAlgorithmsCount() external view returns (uint256) {
        return _algorithms.length;
    }

    function getHashAlgorithm(uint256 hashAlgorithmId) external view returns (HashAlgorithm memory) {
        if (hashAlgorithmId >= _algorithms.length) {
            revert Timestamp__UnknownHashAlgorithm(hashAlgorithmId);
        }
        return _algorithms[hashAlgorithmId];
    }

    /// @notice How many distinct timestamp ids exist (for listing, in order of first timestamp).
    function timestampsCount() external view returns (uint256) {
        return _ids.length;
    }

    function timestampIdAt(uint256 index) external view returns (bytes32) {
        if (index >= _ids.length) {
            revert Timestamp__IndexOutOfRange(index, _ids.length);
        }
        return _ids[index];
    }

    /// @notice How many accounts timestamped `timestampId` (0 if none).
    function timestampRecordsCount(bytes32 timestampId) external view returns (uint256) {
        return _records[timestampId].length;
    }

    /// @notice The first record of `timestampId` (what EBSI's `GET /timestamps/{id}` shows).
    function getTimestamp(bytes32 timestampId) external view returns (TimestampRecord memory) {
        TimestampRecord[] storage records = _records[timestampId];
        if (records.length == 0) {
            revert Timestamp__UnknownTimestamp(timestampId);
        }
        return records[0];
    }

    function getTimestampAt(bytes32 timestampId, uint256 index) external view returns (TimestampRecord memory) {
        TimestampRecord[] storage records = _records[timestampId];
        if (index >= records.length) {
            revert Timestamp__IndexOutOfRange(index, records.length);
        }
        return records[index];
    }

    /**
     * @notice `account`'s record of `timestampId`, in constant time.
     * @return found false (and an empty record) when `account` never timestamped it
     */
    function getTimestampBy(bytes32 timestampId, address account)
        external
        view
        returns (bool found, TimestampRecord memory record)
    {
        uint256 index = _recordIndex[timestampId][account];
        if (index == 0) {
            return (false, record);
        }
        return (true, _records[timestampId][index - 1]);
    }
}
