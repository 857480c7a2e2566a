package signing

import (
	"errors"
	"strings"
	"unicode/utf8"
)

// Why a signature did not verify. Every error from Verify, VerifyAny and
// (*Verifier).Verify wraps exactly one of them; tell them apart with errors.Is.
var (
	// ErrNoKey: no key in the set has the signature's keyid (npm's
	// EMISSINGSIGNATUREKEY).
	ErrNoKey = errors.New("no public key with that keyid")
	// ErrExpired: the key had expired when the version was published (npm's
	// EEXPIREDSIGNATUREKEY).
	ErrExpired = errors.New("public key expired before the version was published")
	// ErrBadSignature: the signature is malformed or does not match the message
	// (npm's EINTEGRITYSIGNATURE). This is the one that can mean tampering.
	ErrBadSignature = errors.New("signature does not match")
	// ErrUnsupported: the key's keytype or scheme is not one this package checks.
	ErrUnsupported = errors.New("unsupported key type")
	// ErrNoSignature: the version carries no signatures at all.
	ErrNoSignature = errors.New("version has no signatures")
)

// maxEcho bounds how much of an input string an error repeats.
const maxEcho = 80

// clip shortens s to at most maxEcho bytes without cutting a UTF-8 character,
// so that hostile input cannot bloat an error message.
func clip(s string) string {
	if len(s) <= maxEcho {
		return s
	}
	cut := maxEcho
	for cut > 0 && !utf8.RuneStart(s[cut]) {
		cut--
	}
	return s[:cut] + "…"
}

// echoPEM is clip for text taken from a PEM file (a block type, a header
// name): runs of five dashes are shortened so that an error never repeats
// anything that reads as a PEM boundary line.
func echoPEM(s string) string {
	for strings.Contains(s, "-----") {
		s = strings.ReplaceAll(s, "-----", "-")
	}
	return clip(s)
}
