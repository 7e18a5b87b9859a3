// SPDX-License-Identifier: Apache-2.0
pragma solidity 0.8.37;

/// @notice What the registry needs from the DID Registry: who may act for a DID.
interface IDidController {
    function isController(string calldata did, address account) external view returns (bool);
}

/**
 * @title TrustedIssuersRegistry
 * @notice Issuers (by DID) and their attributes: accreditations, each a signed credential (the attribute's body),
 * with its place in a trust chain RootTAO -> TAO -> TI. anchorcred's local stand-in for EBSI's Trusted Issuers
 * Registry; function names and semantics follow EBSI's public TIR API v5 documentation (`setAttributeMetadata`,
 * `setAttributeData`, `addIssuerProxy`, issuer types 1 RootTAO, 2 TAO, 3 TI, 4 Revoked). The code is written here, not
 * taken from EBSI (whose contracts are under a copyleft licence).
 * @dev Who may accredit whom:
 * - a RootTAO attribute is set by the registry's admin only (the ledger operator: EBSI's Trusted Policies Registry);
 * - a TAO or TI attribute is set by an account controlling (in the DID Registry) the accrediting DID `taoDid`, whose
 *   attribute `taoAttributeId` must be RootTAO or TAO: a TI, a revoked or an unknown attribute accredits nobody;
 * - an attribute is revoked (type 4) by an account controlling its accreditor or the root of its chain, or the admin;
 * - an attribute's body (the accreditation credential) is set by the issuer itself, its accreditor, or the admin.
 * Every change is a new revision: nothing is overwritten, so the state at any past time can be read back.
 * The registry stores the body as given; checking the credential inside it (signature, scope, validity) is the
 * verifier's job, which must never trust the registry's word alone.
 */
contract TrustedIssuersRegistry {
    uint8 public constant UNDEFINED = 0;
    uint8 public constant ROOT_TAO = 1;
    uint8 public constant TAO = 2;
    uint8 public constant TI = 3;
    uint8 public constant REVOKED = 4;

    uint256 public constant MAX_ATTRIBUTES = 64;
    uint256 public constant MAX_REVISIONS = 256;
    uint256 public constant MAX_PROXIES = 16;
    uint256 public constant MAX_BODY_BYTES = 16384;
    uint256 public constant MAX_PROXY_BYTES = 2048;

    /// @notice One state of an attribute. `bodyIndex` is 1 + the index of its body (0: no body yet).
    struct Revision {
        bytes32 hash; // sha256 of the body (zero while there is none)
        uint32 bodyIndex;
        uint8 issuerType;
        uint64 time;
        uint64 blockNumber;
        address setBy;
    }

    /// @notice An attribute as read back: its latest state, or one revision of it.
    struct AttributeView {
        bytes32 attributeId;
        bytes32 hash;
        bytes body;
        uint8 issuerType;
        string tao;
        string rootTao;
        bytes32 taoAttributeId;
        uint64 time;
        uint64 blockNumber;
        address setBy;
    }

    struct Attribute {
        bool exists;
        uint8 issuerType;
        string tao;
        string rootTao;
        bytes32 taoAttributeId;
        bytes[] bodies;
        Revision[] revisions;
    }

    struct Issuer {
        bool exists;
        string did;
        bytes32[] attributeIds;
        mapping(bytes32 attributeId => Attribute) attributes;
        bytes32[] proxyIds;
        mapping(bytes32 proxyId => string) proxies;
    }

    address private immutable _admin;
    IDidController private immutable _didRegistry;
    mapping(bytes32 didHash => Issuer) private _issuers;
    string[] private _dids;

    event AttributeMetadataSet(
        bytes32 indexed didHash, bytes32 indexed attributeId, uint8 issuerType, string did, string tao, address setBy
    );
    event AttributeDataSet(bytes32 indexed didHash, bytes32 indexed attributeId, bytes32 hash, address setBy);
    event IssuerProxyChanged(bytes32 indexed didHash, bytes32 indexed proxyId, string change, address setBy);

    error TrustedIssuersRegistry__NotAdmin(address caller);
    error TrustedIssuersRegistry__NotAllowed(string did, address caller);
    error TrustedIssuersRegistry__BadIssuerType(uint8 issuerType);
    error TrustedIssuersRegistry__RootTaoMustSelfAccredit(string did, string taoDid);
    error TrustedIssuersRegistry__UnknownAttribute(string did, bytes32 attributeId);
    error TrustedIssuersRegistry__NotAccreditor(string taoDid, bytes32 taoAttributeId, uint8 issuerType);
    error TrustedIssuersRegistry__AttributeRevoked(string did, bytes32 attributeId);
    error TrustedIssuersRegistry__ZeroAttributeId();
    error TrustedIssuersRegistry__BadBody(uint256 size, uint256 limit);
    error TrustedIssuersRegistry__BadDid(string did);
    error TrustedIssuersRegistry__TooMany(string what, uint256 limit);
    error TrustedIssuersRegistry__UnknownIssuer(string did);
    error TrustedIssuersRegistry__UnknownProxy(string did, bytes32 proxyId);
    error TrustedIssuersRegistry__DuplicateProxy(string did, bytes32 proxyId);
    error TrustedIssuersRegistry__IndexOutOfRange(uint256 index, uint256 length);

    constructor(address didRegistry_) {
        _admin = msg.sender;
        _didRegistry = IDidController(didRegistry_);
    }

    function admin() external view returns (address) {
        return _admin;
    }

    function didRegistry() external view returns (address) {
        return address(_didRegistry);
    }

    // ---------------------------------------------------------------------------------------------------- writes

    /**
     * @notice Places attribute `attributeId` of `did` in the trust chain (or revokes it: `issuerType` 4).
     * @param issuerType 1 RootTAO, 2 TAO, 3 TI, 4 Revoked
     * @param taoDid the accrediting DID (for a RootTAO: `did` itself)
     * @param taoAttributeId the accreditor's attribute that makes it a RootTAO or TAO (for a RootTAO: `attributeId`)
     */
    function setAttributeMetadata(
        string calldata did,
        bytes32 attributeId,
        uint8 issuerType,
        string calldata taoDid,
        bytes32 taoAttributeId
    ) external {
        if (attributeId == bytes32(0)) {
            revert TrustedIssuersRegistry__ZeroAttributeId();
        }
        if (issuerType == REVOKED) {
            _revoke(did, attributeId);
            return;
        }
        string memory rootTao;
        if (issuerType == ROOT_TAO) {
            if (msg.sender != _admin) {
                revert TrustedIssuersRegistry__NotAdmin(msg.sender);
            }
            if (keccak256(bytes(taoDid)) != keccak256(bytes(did)) || taoAttributeId != attributeId) {
                revert TrustedIssuersRegistry__RootTaoMustSelfAccredit(did, taoDid);
            }
            rootTao = did;
        } else if (issuerType == TAO || issuerType == TI) {
            Attribute storage accreditor = _issuers[keccak256(bytes(taoDid))].attributes[taoAttributeId];
            if (!accreditor.exists || (accreditor.issuerType != ROOT_TAO && accreditor.issuerType != TAO)) {
                revert TrustedIssuersRegistry__NotAccreditor(taoDid, taoAttributeId, accreditor.issuerType);
            }
            if (msg.sender != _admin && !_didRegistry.isController(taoDid, msg.sender)) {
                revert TrustedIssuersRegistry__NotAllowed(taoDid, msg.sender);
            }
            rootTao = accreditor.rootTao;
        } else {
            revert TrustedIssuersRegistry__BadIssuerType(issuerType);
        }
        Issuer storage issuer = _issuer(did);
        Attribute storage attribute = issuer.attributes[attributeId];
        if (attribute.exists) {
            // Re-accrediting an existing attribute: whoever placed it (or its root) must agree, so an attribute
            // cannot be taken over by another branch of the tree.
            if (!_mayManage(attribute)) {
                revert TrustedIssuersRegistry__NotAllowed(attribute.tao, msg.sender);
            }
        } else {
            if (issuer.attributeIds.length >= MAX_ATTRIBUTES) {
                revert TrustedIssuersRegistry__TooMany("attributes", MAX_ATTRIBUTES);
            }
            attribute.exists = true;
            issuer.attributeIds.push(attributeId);
        }
        attribute.issuerType = issuerType;
        attribute.tao = taoDid;
        attribute.rootTao = rootTao;
        attribute.taoAttributeId = taoAttributeId;
        _revision(attribute, _latestHash(attribute), uint32(attribute.bodies.length));
        emit AttributeMetadataSet(keccak256(bytes(did)), attributeId, issuerType, did, taoDid, msg.sender);
    }

    /**
     * @notice Sets the body of attribute `attributeId` of `did`: the accreditation credential (e.g. a JWT), as bytes.
     * The attribute must have been placed in the chain first ({setAttributeMetadata}) and not be revoked.
     */
    function setAttributeData(string calldata did, bytes32 attributeId, bytes calldata attributeData) external {
        Issuer storage issuer = _issuers[keccak256(bytes(did))];
        Attribute storage attribute = issuer.attributes[attributeId];
        if (!attribute.exists) {
            revert TrustedIssuersRegistry__UnknownAttribute(did, attributeId);
        }
        if (attribute.issuerType == REVOKED) {
            revert TrustedIssuersRegistry__AttributeRevoked(did, attributeId);
        }
        if (msg.sender != _admin && !_didRegistry.isController(did, msg.sender) && !_mayManage(attribute)) {
            revert TrustedIssuersRegistry__NotAllowed(did, msg.sender);
        }
        if (attributeData.length == 0 || attributeData.length > MAX_BODY_BYTES) {
            revert TrustedIssuersRegistry__BadBody(attributeData.length, MAX_BODY_BYTES);
        }
        attribute.bodies.push(attributeData);
        bytes32 hash = sha256(attributeData);
        _revision(attribute, hash, uint32(attribute.bodies.length));
        emit AttributeDataSet(keccak256(bytes(did)), attributeId, hash, msg.sender);
    }

    /// @notice Adds a proxy (JSON text, e.g. {"prefix": "...", "headers": {}, "testSuffix": "..."}) to an issuer.
    /// Its id is sha256 of the text. Set by the issuer itself or the admin.
    function addIssuerProxy(string calldata did, string calldata proxyData) external {
        Issuer storage issuer = _managedIssuer(did);
        bytes32 proxyId = _checkedProxyId(proxyData);
        if (bytes(issuer.proxies[proxyId]).length != 0) {
            revert TrustedIssuersRegistry__DuplicateProxy(did, proxyId);
        }
        if (issuer.proxyIds.length >= MAX_PROXIES) {
            revert TrustedIssuersRegistry__TooMany("proxies", MAX_PROXIES);
        }
        issuer.proxyIds.push(proxyId);
        issuer.proxies[proxyId] = proxyData;
        emit IssuerProxyChanged(keccak256(bytes(did)), proxyId, "added", msg.sender);
    }

    /// @notice Replaces the data of proxy `proxyId` (its id stays the same, so links to it keep working).
    function updateIssuerProxy(string calldata did, bytes32 proxyId, string calldata proxyData) external {
        Issuer storage issuer = _managedIssuer(did);
        _checkedProxyId(proxyData);
        if (bytes(issuer.proxies[proxyId]).length == 0) {
            revert TrustedIssuersRegistry__UnknownProxy(did, proxyId);
        }
        issuer.proxies[proxyId] = proxyData;
        emit IssuerProxyChanged(keccak256(bytes(did)), proxyId, "updated", msg.sender);
    }

    function removeIssuerProxy(string calldata did, bytes32 proxyId) external {
        Issuer storage issuer = _managedIssuer(did);
        if (bytes(issuer.proxies[proxyId]).length == 0) {
            revert TrustedIssuersRegistry__UnknownProxy(did, proxyId);
        }
        delete issuer.proxies[proxyId];
        for (uint256 i = 0; i < issuer.proxyIds.length; i++) {
            if (issuer.proxyIds[i] == proxyId) {
                issuer.proxyIds[i] = issuer.proxyIds[issuer.proxyIds.length - 1];
                issuer.proxyIds.pop();
                break;
            }
        }
        emit IssuerProxyChanged(keccak256(bytes(did)), proxyId, "removed", msg.sender);
    }

    // ----------------------------------------------------------------------------------------------------- reads

    function issuersCount() external view returns (uint256) {
        return _dids.length;
    }

    function issuerAt(uint256 index) external view returns (string memory) {
        if (index >= _dids.length) {
            revert TrustedIssuersRegistry__IndexOutOfRange(index, _dids.length);
        }
        return _dids[index];
    }

    function isIssuer(string calldata did) external view returns (bool) {
        return _issuers[keccak256(bytes(did))].exists;
    }

    function getAttributeIds(string calldata did) external view returns (bytes32[] memory) {
        return _existingIssuer(did).attributeIds;
    }

    /// @notice The latest state of an attribute.
    function getAttribute(string calldata did, bytes32 attributeId) external view returns (AttributeView memory) {
        Attribute storage attribute = _existingAttribute(did, attributeId);
        return _view(attributeId, attribute, attribute.revisions.length - 1);
    }

    function revisionsCount(string calldata did, bytes32 attributeId) external view returns (uint256) {
        return _existingAttribute(did, attributeId).revisions.length;
    }

    /// @notice Revision `index` of an attribute (0: the first).
    function getRevision(string calldata did, bytes32 attributeId, uint256 index)
        external
        view
        returns (AttributeView memory)
    {
        Attribute storage attribute = _existingAttribute(did, attributeId);
        if (index >= attribute.revisions.length) {
            revert TrustedIssuersRegistry__IndexOutOfRange(index, attribute.revisions.length);
        }
        return _view(attributeId, attribute, index);
    }

    function getProxyIds(string calldata did) external view returns (bytes32[] memory) {
        return _existingIssuer(did).proxyIds;
    }

    function getProxy(string calldata did, bytes32 proxyId) external view returns (string memory) {
        string memory data = _existingIssuer(did).proxies[proxyId];
        if (bytes(data).length == 0) {
            revert TrustedIssuersRegistry__UnknownProxy(did, proxyId);
        }
        return data;
    }

    // --------------------------------------------------------------------------------------------------- helpers

    function _issuer(string calldata did) private returns (Issuer storage issuer) {
        bytes calldata b = bytes(did);
        if (b.length < 8 || b.length > 256 || b[0] != "d" || b[1] != "i" || b[2] != "d" || b[3] != ":") {
            revert TrustedIssuersRegistry__BadDid(did);
        }
        issuer = _issuers[keccak256(b)];
        if (!issuer.exists) {
            issuer.exists = true;
            issuer.did = did;
            _dids.push(did);
        }
    }

    function _existingIssuer(string calldata did) private view returns (Issuer storage issuer) {
        issuer = _issuers[keccak256(bytes(did))];
        if (!issuer.exists) {
            revert TrustedIssuersRegistry__UnknownIssuer(did);
        }
    }

    function _existingAttribute(string calldata did, bytes32 attributeId)
        private
        view
        returns (Attribute storage attribute)
    {
        attribute = _existingIssuer(did).attributes[attributeId];
        if (!attribute.exists) {
            revert TrustedIssuersRegistry__UnknownAttribute(did, attributeId);
        }
    }

    function _managedIssuer(string calldata did) private view returns (Issuer storage issuer) {
        issuer = _existingIssuer(did);
        if (msg.sender != _admin && !_didRegistry.isController(did, msg.sender)) {
            revert TrustedIssuersRegistry__NotAllowed(did, msg.sender);
        }
    }

    /// @dev The caller controls the attribute's accreditor or its chain's root, or is the admin.
    function _mayManage(Attribute storage attribute) private view returns (bool) {
        return msg.sender == _admin || _didRegistry.isController(attribute.tao, msg.sender)
            || _didRegistry.isController(attribute.rootTao, msg.sender);
    }

    function _revoke(string calldata did, bytes32 attributeId) private {
        Attribute storage attribute = _issuers[keccak256(bytes(did))].attributes[attributeId];
        if (!attribute.exists) {
            revert TrustedIssuersRegistry__UnknownAttribute(did, attributeId);
        }
        if (!_mayManage(attribute)) {
            revert TrustedIssuersRegistry__NotAllowed(attribute.tao, msg.sender);
        }
        attribute.issuerType = REVOKED;
        _revision(attribute, _latestHash(attribute), uint32(attribute.bodies.length));
        emit AttributeMetadataSet(keccak256(bytes(did)), attributeId, REVOKED, did, attribute.tao, msg.sender);
    }

    function _revision(Attribute storage attribute, bytes32 hash, uint32 bodyIndex) private {
        if (attribute.revisions.length >= MAX_REVISIONS) {
            revert TrustedIssuersRegistry__TooMany("revisions", MAX_REVISIONS);
        }
        attribute.revisions.push(
            Revision(hash, bodyIndex, attribute.issuerType, uint64(block.timestamp), uint64(block.number), msg.sender)
        );
    }

    function _latestHash(Attribute storage attribute) private view returns (bytes32) {
        uint256 n = attribute.revisions.length;
        return n == 0 ? bytes32(0) : attribute.revisions[n - 1].hash;
    }

    function _view(bytes32 attributeId, Attribute storage attribute, uint256 index)
        private
        view
        returns (AttributeView memory out)
    {
        Revision storage rev = attribute.revisions[index];
        out.attributeId = attributeId;
        out.hash = rev.hash;
        out.body = rev.bodyIndex == 0 ? bytes("") : attribute.bodies[rev.bodyIndex - 1];
        out.issuerType = rev.issuerType;
        out.tao = attribute.tao;
        out.rootTao = attribute.rootTao;
        out.taoAttributeId = attribute.taoAttributeId;
        out.time = rev.time;
        out.blockNumber = rev.blockNumber;
        out.setBy = rev.setBy;
    }

    function _checkedProxyId(string calldata proxyData) private pure returns (bytes32) {
        uint256 size = bytes(proxyData).length;
        if (size == 0 || size > MAX_PROXY_BYTES) {
            revert TrustedIssuersRegistry__BadBody(size, MAX_PROXY_BYTES);
        }
        return sha256(bytes(proxyData));
    }
}
