// SPDX-License-Identifier: Apache-2.0
pragma solidity 0.8.37;

/**
 * @title DidRegistry
 * @notice DID documents kept on the ledger (did:ebsi style): a base document (its `@context`), verification methods,
 * verification relationships with validity windows, controllers and services. anchorcred's local stand-in for EBSI's
 * DID Registry; function names and semantics follow EBSI's public DID Registry API v5 documentation
 * (`insertDidDocument`, `addVerificationMethod`, `addVerificationRelationship`, `addController`, ...). The code is
 * written here, not taken from EBSI (whose contracts are under a copyleft licence).
 * @dev Who controls a DID ({isController}): an account whose secp256k1 key is in the DID's `capabilityInvocation`
 * relationship, valid at the current block time, or such an account of one of the DID's controller DIDs (one level
 * deep: no recursion, so no loop and a bounded cost). Every write but {insertDidDocument} needs the caller to control
 * the DID; {insertDidDocument} needs the inserted key to be the caller's own (possession is proven by the signature of
 * the transaction). Lists per document are capped, so every read and every control check has a bounded cost.
 */
contract DidRegistry {
    struct VerificationMethod {
        string id; // the fragment-less method id (EBSI recommends the JWK thumbprint)
        bytes publicKey; // secp256k1: 65-byte uncompressed key (0x04...); otherwise the public JWK as JSON text
        bool isSecp256k1;
        address account; // the Ethereum address of a secp256k1 key, zero otherwise
    }

    struct VerificationRelationship {
        string name; // authentication, assertionMethod, keyAgreement, capabilityInvocation, capabilityDelegation
        string vMethodId;
        uint64 notBefore;
        uint64 notAfter;
    }

    struct Service {
        string id;
        string service; // the service object as JSON text
    }

    struct DocumentInfo {
        string did;
        string baseDocument;
        string[] controllers;
        uint64 created;
        uint64 updated;
    }

    struct Document {
        bool exists;
        string did;
        string baseDocument;
        string[] controllers;
        VerificationMethod[] methods;
        VerificationRelationship[] relationships;
        Service[] services;
        uint64 created;
        uint64 updated;
    }

    uint256 public constant MAX_CONTROLLERS = 8;
    uint256 public constant MAX_METHODS = 16;
    uint256 public constant MAX_RELATIONSHIPS = 48;
    uint256 public constant MAX_SERVICES = 16;
    uint256 public constant MAX_TEXT_BYTES = 4096;

    bytes32 private constant CAPABILITY_INVOCATION = keccak256("capabilityInvocation");

    mapping(bytes32 didHash => Document) private _documents;
    string[] private _dids;

    event DidDocumentInserted(bytes32 indexed didHash, string did, address indexed account);
    event DidDocumentUpdated(bytes32 indexed didHash, string change, address indexed account);

    error DidRegistry__AlreadyRegistered(string did);
    error DidRegistry__UnknownDid(string did);
    error DidRegistry__NotController(string did, address caller);
    error DidRegistry__BadDid(string did);
    error DidRegistry__BadPublicKey(string vMethodId);
    error DidRegistry__KeyNotSender(address keyAccount, address sender);
    error DidRegistry__DuplicateMethod(string vMethodId);
    error DidRegistry__UnknownMethod(string vMethodId);
    error DidRegistry__BadRelationship(string name);
    error DidRegistry__NotSecp256k1(string vMethodId);
    error DidRegistry__BadValidity(uint256 notBefore, uint256 notAfter);
    error DidRegistry__TooMany(string what, uint256 limit);
    error DidRegistry__TextTooLarge(uint256 size, uint256 limit);
    error DidRegistry__DuplicateController(string controller);
    error DidRegistry__UnknownController(string controller);
    error DidRegistry__DuplicateService(string serviceId);
    error DidRegistry__UnknownService(string serviceId);
    error DidRegistry__IndexOutOfRange(uint256 index, uint256 length);

    modifier onlyController(string calldata did) {
        if (!_documents[keccak256(bytes(did))].exists) {
            revert DidRegistry__UnknownDid(did);
        }
        if (!isController(did, msg.sender)) {
            revert DidRegistry__NotController(did, msg.sender);
        }
        _;
    }

    // ---------------------------------------------------------------------------------------------------- writes

    /**
     * @notice Registers `did` with one secp256k1 key, which becomes its `capabilityInvocation` method.
     * @param baseDocument JSON text holding the document's `@context`
     * @param vMethodId the key's method id
     * @param publicKey the 65-byte uncompressed secp256k1 key; its address must be the caller's
     * @param isSecp256k1 must be true (the first key must be able to invoke capabilities)
     * @param notBefore start of the key's capabilityInvocation (seconds since the epoch)
     * @param notAfter end of it (0: no end)
     */
    function insertDidDocument(
        string calldata did,
        string calldata baseDocument,
        string calldata vMethodId,
        bytes calldata publicKey,
        bool isSecp256k1,
        uint256 notBefore,
        uint256 notAfter
    ) external {
        if (!isSecp256k1) {
            revert DidRegistry__NotSecp256k1(vMethodId);
        }
        address account = _secp256k1Account(vMethodId, publicKey);
        if (account != msg.sender) {
            revert DidRegistry__KeyNotSender(account, msg.sender);
        }
        Document storage doc = _newDocument(did, baseDocument);
        doc.methods.push(VerificationMethod(vMethodId, publicKey, true, account));
        _relate(doc, "capabilityInvocation", vMethodId, notBefore, notAfter);
        emit DidDocumentInserted(keccak256(bytes(did)), did, msg.sender);
    }

    function updateBaseDocument(string calldata did, string calldata baseDocument) external onlyController(did) {
        _checkText(baseDocument);
        Document storage doc = _touch(did, "baseDocument");
        doc.baseDocument = baseDocument;
    }

    function addController(string calldata did, string calldata controller) external onlyController(did) {
        _checkDid(controller);
        Document storage doc = _touch(did, "addController");
        if (doc.controllers.length >= MAX_CONTROLLERS) {
            revert DidRegistry__TooMany("controllers", MAX_CONTROLLERS);
        }
        if (_indexOf(doc.controllers, controller) != type(uint256).max) {
            revert DidRegistry__DuplicateController(controller);
        }
        doc.controllers.push(controller);
    }

    function revokeController(string calldata did, string calldata controller) external onlyController(did) {
        Document storage doc = _touch(did, "revokeController");
        uint256 i = _indexOf(doc.controllers, controller);
        if (i == type(uint256).max) {
            revert DidRegistry__UnknownController(controller);
        }
        doc.controllers[i] = doc.controllers[doc.controllers.length - 1];
        doc.controllers.pop();
    }

    /**
     * @notice Adds a verification method (no relationship yet: see {addVerificationRelationship}).
     * @param publicKey secp256k1: the 65-byte uncompressed key; otherwise the public JWK as JSON text
     */
    function addVerificationMethod(
        string calldata did,
        string calldata vMethodId,
        bytes calldata publicKey,
        bool isSecp256k1
    ) external onlyController(did) {
        Document storage doc = _touch(did, "addVerificationMethod");
        if (doc.methods.length >= MAX_METHODS) {
            revert DidRegistry__TooMany("verification methods", MAX_METHODS);
        }
        if (_methodIndex(doc, vMethodId) != type(uint256).max) {
            revert DidRegistry__DuplicateMethod(vMethodId);
        }
        address account;
        if (isSecp256k1) {
            account = _secp256k1Account(vMethodId, publicKey);
        } else if (publicKey.length == 0 || publicKey.length > MAX_TEXT_BYTES || publicKey[0] != "{") {
            revert DidRegistry__BadPublicKey(vMethodId);
        }
        doc.methods.push(VerificationMethod(vMethodId, publicKey, isSecp256k1, account));
    }

    /// @notice Puts method `vMethodId` in relationship `name` from `notBefore` until `notAfter` (0: no end).
    function addVerificationRelationship(
        string calldata did,
        string calldata name,
        string calldata vMethodId,
        uint256 notBefore,
        uint256 notAfter
    ) external onlyController(did) {
        Document storage doc = _touch(did, "addVerificationRelationship");
        if (!_knownRelationship(name)) {
            revert DidRegistry__BadRelationship(name);
        }
        uint256 m = _methodIndex(doc, vMethodId);
        if (m == type(uint256).max) {
            revert DidRegistry__UnknownMethod(vMethodId);
        }
        if (keccak256(bytes(name)) == CAPABILITY_INVOCATION && !doc.methods[m].isSecp256k1) {
            revert DidRegistry__NotSecp256k1(vMethodId);
        }
        _relate(doc, name, vMethodId, notBefore, notAfter);
    }

    /**
     * @notice Ends every relationship of `vMethodId` at `notAfter` (or now, if `notAfter` is 0 or in the past).
     * The method stays listed, so signatures made while it was valid can still be checked against it.
     */
    function revokeVerificationMethod(string calldata did, string calldata vMethodId, uint256 notAfter)
        external
        onlyController(did)
    {
        Document storage doc = _touch(did, "revokeVerificationMethod");
        if (_methodIndex(doc, vMethodId) == type(uint256).max) {
            revert DidRegistry__UnknownMethod(vMethodId);
        }
        uint64 end = notAfter == 0 || notAfter < block.timestamp ? uint64(block.timestamp) : uint64(notAfter);
        bytes32 id = keccak256(bytes(vMethodId));
        for (uint256 i = 0; i < doc.relationships.length; i++) {
            VerificationRelationship storage rel = doc.relationships[i];
            if (keccak256(bytes(rel.vMethodId)) == id && (rel.notAfter == 0 || rel.notAfter > end)) {
                rel.notAfter = end;
            }
        }
    }

    function addService(string calldata did, string calldata serviceId, string calldata service)
        external
        onlyController(did)
    {
        _checkText(service);
        Document storage doc = _touch(did, "addService");
        if (doc.services.length >= MAX_SERVICES) {
            revert DidRegistry__TooMany("services", MAX_SERVICES);
        }
        if (_serviceIndex(doc, serviceId) != type(uint256).max) {
            revert DidRegistry__DuplicateService(serviceId);
        }
        doc.services.push(Service(serviceId, service));
    }

    function revokeService(string calldata did, string calldata serviceId) external onlyController(did) {
        Document storage doc = _touch(did, "revokeService");
        uint256 i = _serviceIndex(doc, serviceId);
        if (i == type(uint256).max) {
            revert DidRegistry__UnknownService(serviceId);
        }
        doc.services[i] = doc.services[doc.services.length - 1];
        doc.services.pop();
    }

    // ----------------------------------------------------------------------------------------------------- reads

    /// @notice Whether `account` may act for `did` now (see the contract's notes).
    function isController(string calldata did, address account) public view returns (bool) {
        Document storage doc = _documents[keccak256(bytes(did))];
        if (!doc.exists || account == address(0)) {
            return false;
        }
        if (_invokes(doc, account)) {
            return true;
        }
        bytes32 self = keccak256(bytes(did));
        for (uint256 i = 0; i < doc.controllers.length; i++) {
            bytes32 other = keccak256(bytes(doc.controllers[i]));
            if (other == self) {
                continue;
            }
            Document storage controller = _documents[other];
            if (controller.exists && _invokes(controller, account)) {
                return true;
            }
        }
        return false;
    }

    function exists(string calldata did) external view returns (bool) {
        return _documents[keccak256(bytes(did))].exists;
    }

    function didsCount() external view returns (uint256) {
        return _dids.length;
    }

    function didAt(uint256 index) external view returns (string memory) {
        if (index >= _dids.length) {
            revert DidRegistry__IndexOutOfRange(index, _dids.length);
        }
        return _dids[index];
    }

    function getDocument(string calldata did) external view returns (DocumentInfo memory) {
        Document storage doc = _existing(did);
        return DocumentInfo(doc.did, doc.baseDocument, doc.controllers, doc.created, doc.updated);
    }

    function getVerificationMethods(string calldata did) external view returns (VerificationMethod[] memory) {
        return _existing(did).methods;
    }

    function getVerificationRelationships(string calldata did)
        external
        view
        returns (VerificationRelationship[] memory)
    {
        return _existing(did).relationships;
    }

    function getServices(string calldata did) external view returns (Service[] memory) {
        return _existing(did).services;
    }

    // --------------------------------------------------------------------------------------------------- helpers

    function _newDocument(string calldata did, string calldata baseDocument) private returns (Document storage doc) {
        _checkDid(did);
        _checkText(baseDocument);
        doc = _documents[keccak256(bytes(did))];
        if (doc.exists) {
            revert DidRegistry__AlreadyRegistered(did);
        }
        doc.exists = true;
        doc.did = did;
        doc.baseDocument = baseDocument;
        doc.controllers.push(did);
        doc.created = uint64(block.timestamp);
        doc.updated = uint64(block.timestamp);
        _dids.push(did);
    }

    function _relate(
        Document storage doc,
        string memory name,
        string calldata vMethodId,
        uint256 notBefore,
        uint256 notAfter
    ) private {
        if (doc.relationships.length >= MAX_RELATIONSHIPS) {
            revert DidRegistry__TooMany("verification relationships", MAX_RELATIONSHIPS);
        }
        (uint64 from, uint64 until) = _validity(notBefore, notAfter);
        doc.relationships.push(VerificationRelationship(name, vMethodId, from, until));
    }

    function _existing(string calldata did) private view returns (Document storage doc) {
        doc = _documents[keccak256(bytes(did))];
        if (!doc.exists) {
            revert DidRegistry__UnknownDid(did);
        }
    }

    function _touch(string calldata did, string memory change) private returns (Document storage doc) {
        bytes32 key = keccak256(bytes(did));
        doc = _documents[key];
        doc.updated = uint64(block.timestamp);
        emit DidDocumentUpdated(key, change, msg.sender);
    }

    function _invokes(Document storage doc, address account) private view returns (bool) {
        for (uint256 i = 0; i < doc.relationships.length; i++) {
            VerificationRelationship storage rel = doc.relationships[i];
            if (keccak256(bytes(rel.name)) != CAPABILITY_INVOCATION) {
                continue;
            }
            if (block.timestamp < rel.notBefore || (rel.notAfter != 0 && block.timestamp >= rel.notAfter)) {
                continue;
            }
            uint256 m = _methodIndex(doc, rel.vMethodId);
            if (m != type(uint256).max && doc.methods[m].account == account) {
                return true;
            }
        }
        return false;
    }

    function _methodIndex(Document storage doc, string memory vMethodId) private view returns (uint256) {
        bytes32 id = keccak256(bytes(vMethodId));
        for (uint256 i = 0; i < doc.methods.length; i++) {
            if (keccak256(bytes(doc.methods[i].id)) == id) {
                return i;
            }
        }
        return type(uint256).max;
    }

    function _serviceIndex(Document storage doc, string calldata serviceId) private view returns (uint256) {
        bytes32 id = keccak256(bytes(serviceId));
        for (uint256 i = 0; i < doc.services.length; i++) {
            if (keccak256(bytes(doc.services[i].id)) == id) {
                return i;
            }
        }
        return type(uint256).max;
    }

    function _indexOf(string[] storage list, string calldata value) private view returns (uint256) {
        bytes32 id = keccak256(bytes(value));
        for (uint256 i = 0; i < list.length; i++) {
            if (keccak256(bytes(list[i])) == id) {
                return i;
            }
        }
        return type(uint256).max;
    }

    function _secp256k1Account(string calldata vMethodId, bytes calldata publicKey) private pure returns (address) {
        if (publicKey.length != 65 || publicKey[0] != 0x04) {
            revert DidRegistry__BadPublicKey(vMethodId);
        }
        return address(uint160(uint256(keccak256(publicKey[1:]))));
    }

    function _validity(uint256 notBefore, uint256 notAfter) private pure returns (uint64, uint64) {
        if (notBefore > type(uint64).max || notAfter > type(uint64).max || (notAfter != 0 && notAfter <= notBefore)) {
            revert DidRegistry__BadValidity(notBefore, notAfter);
        }
        return (uint64(notBefore), uint64(notAfter));
    }

    function _knownRelationship(string calldata name) private pure returns (bool) {
        bytes32 h = keccak256(bytes(name));
        return h == keccak256("authentication") || h == keccak256("assertionMethod") || h == keccak256("keyAgreement")
            || h == CAPABILITY_INVOCATION || h == keccak256("capabilityDelegation");
    }

    function _checkDid(string calldata did) private pure {
        bytes calldata b = bytes(did);
        if (b.length < 8 || b.length > 256 || b[0] != "d" || b[1] != "i" || b[2] != "d" || b[3] != ":") {
            revert DidRegistry__BadDid(did);
        }
    }

    function _checkText(string calldata text) private pure {
        if (bytes(text).length > MAX_TEXT_BYTES) {
            revert DidRegistry__TextTooLarge(bytes(text).length, MAX_TEXT_BYTES);
        }
    }
}
