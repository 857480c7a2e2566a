// Package signing makes and checks npm registry signatures: the dist.signatures
// entries of a packument version and the key document a registry serves at
// /-/npm/v1/keys, in the format the npm CLI checks in `npm audit signatures`.
//
// A signature covers the UTF-8 message "{name}@{version}:{integrity}", where
// integrity is the version's dist.integrity SRI string. For an ECDSA P-256 key
// (keytype and scheme "ecdsa-sha2-nistp256") it is ECDSA over SHA-256 of the
// message, ASN.1 DER encoded; for an Ed25519 key ("ssh-ed25519") it is plain
// Ed25519 over the message bytes. Either way it travels as standard base64. A key
// is named by its keyid, "SHA256:" and the unpadded base64 of SHA-256 over the
// key in SSH wire format: the OpenSSH fingerprint, as the registry names its own.
//
// The npm CLI verifies only ECDSA P-256: it hands every key to Node's
// crypto.verify with a SHA-256 digest, which Node refuses for an Ed25519 key. A
// keyring whose signing key is Ed25519 therefore makes signatures that this
// package verifies and `npm audit signatures` reports as invalid; sign with
// P-256 whenever npm clients are to check the result.
//
// A Keyring is the operator's configured private keys (ParsePEM, LoadFile): the
// first key not yet expired signs, and every key is published (PublicKeys) so
// that versions signed before a rotation still verify. ParseKeys reads a key
// document from an upstream, which is hostile input: it is bounded, and entries
// that cannot be used are dropped. Verify, VerifyAny and a Verifier built once
// for a key set apply the npm CLI's rules: the keyid must name a published key,
// the key must not have expired when the version was published, and the
// signature must check.
//
// The package does no network I/O and reads no clock: callers pass now and the
// version's publish time. It reads a file only in LoadFile. It must never put
// private key material in an error, a log value or a formatted string; a Key
// shows only its keyid and type. It imports only the standard library.
package signing
