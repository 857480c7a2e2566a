package signing

import (
	"fmt"

	"github.com/go-json-experiment/json"
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
	var entries []struct {
		KeyID *string `json:"keyid"`
		Sig   *string `json:"sig"`
	}
	if err := json.Unmarshal([]byte(raw), &entries); err != nil {
		return nil, fmt.Errorf("dist.signatures: not an array of {keyid, sig} objects: %w", ErrBadSignature)
	}
	if len(entries) == 0 {
		return nil, fmt.Errorf("dist.signatures: empty: %w", ErrNoSignature)
	}
	if len(entries) > maxSignatures {
		return nil, fmt.Errorf("dist.signatures: %d entries is more than %d: %w", len(entries), maxSignatures, ErrBadSignature)
	}
	out := make([]Signature, len(entries))
	for i, e := range entries {
		switch {
		case e.KeyID == nil || e.Sig == nil:
			return nil, fmt.Errorf("dist.signatures: entry %d lacks a keyid or a sig: %w", i+1, ErrBadSignature)
		case *e.KeyID == "" || len(*e.KeyID) > maxKeyIDChars:
			return nil, fmt.Errorf("dist.signatures: entry %d: keyid is empty or longer than %d: %w", i+1, maxKeyIDChars, ErrBadSignature)
		case *e.Sig == "" || len(*e.Sig) > maxSigChars:
			return nil, fmt.Errorf("dist.signatures: entry %d: sig is empty or longer than %d: %w", i+1, maxSigChars, ErrBadSignature)
		}
		out[i] = Signature{KeyID: *e.KeyID, Sig: *e.Sig}
	}
	return out, nil
}
