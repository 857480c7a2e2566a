package signing

import (
	"fmt"

	"encoding/json"
	"strings"
)

// maxKeyIDChars bounds one keyid: an OpenSSH fingerprint is 50 characters.
const maxKeyIDChars = 256

// ParseSignatures reads a version's dist.signatures value as a registry serves
// it: a JSON array of objects, each with string members "keyid" and "sig"
// (other members are ignored). Member names match exactly and may not repeat,
// so a value that another JSON reader would see differently is refused. More
// than 4 entries, an empty or overlong keyid or sig, or anything else is an
// error wrapping ErrBadSignature; an empty text is ErrNoSignature. The error
// never repeats the text.
func ParseSignatures(raw string) ([]Signature, error) {
	if raw == "" {
		return nil, fmt.Errorf("dist.signatures: absent: %w", ErrNoSignature)
	}
	bad := func(why string) error {
		return fmt.Errorf("dist.signatures: %s: %w", why, ErrBadSignature)
	}
	if !json.Valid([]byte(raw)) {
		return nil, bad("not JSON")
	}
	if strings.TrimSpace(raw) == "null" {
		return nil, fmt.Errorf("dist.signatures: null: %w", ErrNoSignature)
	}
	var entries []map[string]json.RawMessage
	if err := json.Unmarshal([]byte(raw), &entries); err != nil {
		return nil, bad("not an array of objects")
	}
	if len(entries) == 0 {
		return nil, fmt.Errorf("dist.signatures: empty: %w", ErrNoSignature)
	}
	if len(entries) > maxSignatures {
		return nil, bad(fmt.Sprintf("%d entries is more than %d", len(entries), maxSignatures))
	}
	// A map keeps the last of repeated names, as JavaScript does; a repeat is refused
	// all the same, so no reader can see another value. Names match exactly.
	if n := strings.Count(raw, "{"); n != len(entries) || hasRepeatedNames(raw) {
		return nil, bad("an entry is nested or repeats a member name")
	}
	out := make([]Signature, len(entries))
	for i, e := range entries {
		keyID, okK := stringMember(e, "keyid")
		sig, okS := stringMember(e, "sig")
		switch {
		case !okK || !okS:
			return nil, bad(fmt.Sprintf("entry %d lacks a string keyid or sig", i+1))
		case keyID == "" || len(keyID) > maxKeyIDChars:
			return nil, bad(fmt.Sprintf("entry %d: keyid is empty or longer than %d", i+1, maxKeyIDChars))
		case sig == "" || len(sig) > maxSigChars:
			return nil, bad(fmt.Sprintf("entry %d: sig is empty or longer than %d", i+1, maxSigChars))
		}
		out[i] = Signature{KeyID: keyID, Sig: sig}
	}
	return out, nil
}

// stringMember reads member name of e as a string.
func stringMember(e map[string]json.RawMessage, name string) (string, bool) {
	raw, ok := e[name]
	if !ok {
		return "", false
	}
	var s string
	if json.Unmarshal(raw, &s) != nil {
		return "", false
	}
	return s, true
}

// hasRepeatedNames reports whether an object of the (valid, flat) array raw repeats a
// member name, compared after unescaping.
func hasRepeatedNames(raw string) bool {
	dec := json.NewDecoder(strings.NewReader(raw))
	var seen map[string]bool
	depth := 0
	expectName := false
	for {
		tok, err := dec.Token()
		if err != nil {
			return false
		}
		switch t := tok.(type) {
		case json.Delim:
			switch t {
			case '{':
				depth++
				seen = map[string]bool{}
				expectName = true
				continue
			case '}':
				depth--
			}
		case string:
			if depth == 1 && expectName {
				if seen[t] {
					return true
				}
				seen[t] = true
				expectName = false
				continue
			}
		}
		if depth == 1 {
			expectName = true
		}
	}
}
