package gomod

import (
	"errors"
	"fmt"
	"time"

	"github.com/go-json-experiment/json"
	"github.com/go-json-experiment/json/jsontext"
)

// MaxInfoBytes is the largest .info body ParseInfo reads. A real one is under 1 KiB,
// Origin included.
const MaxInfoBytes = 64 << 10

// Info is the content of a version's .info document (and of an @latest answer).
type Info struct {
	// Version is the canonical version the document describes.
	Version string
	// Time is the version's commit time. The zero Time is never returned by ParseInfo.
	Time time.Time
}

// ErrInvalidInfo is matched (with errors.Is) by every *InfoError.
var ErrInvalidInfo = errors.New("invalid .info document")

// InfoError says why an .info body was refused.
type InfoError struct {
	// Reason says what is wrong.
	Reason string
}

func (e *InfoError) Error() string { return "invalid .info document: " + e.Reason }

// Is makes errors.Is(err, ErrInvalidInfo) hold.
func (e *InfoError) Is(target error) bool { return target == ErrInvalidInfo }

// infoDoc is the wire form. Name, Short and Origin are what the go command's RevInfo
// also carries; they are accepted and ignored.
type infoDoc struct {
	Version string         `json:"Version"`
	Time    string         `json:"Time"`
	Name    string         `json:"Name,omitempty"`
	Short   string         `json:"Short,omitempty"`
	Origin  jsontext.Value `json:"Origin,omitempty"`
}

// ParseInfo reads an .info body: one JSON object with a "Version" and a "Time" in RFC
// 3339 form, and optionally the go command's "Name", "Short" and "Origin", which are
// ignored. Unknown or duplicate members, trailing data, invalid UTF-8 and bodies over
// MaxInfoBytes are refused. The version must be canonical (IsCanonical) and, when
// want is not empty, equal to want. Every failure is an *InfoError.
func ParseInfo(body []byte, want string) (Info, error) {
	fail := func(format string, args ...any) (Info, error) {
		return Info{}, &InfoError{Reason: fmt.Sprintf(format, args...)}
	}
	if len(body) > MaxInfoBytes {
		return fail("the body is larger than %d bytes", MaxInfoBytes)
	}
	var doc infoDoc
	if err := json.Unmarshal(body, &doc, json.RejectUnknownMembers(true)); err != nil {
		return fail("it is not a well-formed .info object: %s", clip(err.Error()))
	}
	if !IsCanonical(doc.Version) {
		return fail("the version %s is not a canonical semantic version", quoteShort(doc.Version))
	}
	if want != "" && doc.Version != want {
		return fail("it describes %s, not the requested %s", quoteShort(doc.Version), quoteShort(want))
	}
	if doc.Time == "" {
		return fail("it has no Time")
	}
	t, err := time.Parse(time.RFC3339, doc.Time)
	if err != nil {
		return fail("the Time %s is not an RFC 3339 time", quoteShort(doc.Time))
	}
	if !timeInRange(t) {
		return fail("the Time is zero or outside years 1 to 9999 in UTC")
	}
	return Info{Version: doc.Version, Time: t.UTC()}, nil
}

// RenderInfo returns the .info body for info: {"Version":...,"Time":...} with the
// time in UTC, RFC 3339 with nanoseconds as needed, as the go command writes it.
// ParseInfo reads it back as the same Info (in UTC). A version that is not canonical,
// or a zero or out-of-range Time (before year 1 or after 9999), is refused with an
// *InfoError.
func RenderInfo(info Info) ([]byte, error) {
	if !IsCanonical(info.Version) {
		return nil, &InfoError{Reason: fmt.Sprintf("the version %s is not a canonical semantic version", quoteShort(info.Version))}
	}
	if !timeInRange(info.Time) {
		return nil, &InfoError{Reason: "the Time is zero or outside years 1 to 9999 in UTC"}
	}
	b, err := json.Marshal(infoDoc{Version: info.Version, Time: info.Time.UTC().Format(time.RFC3339Nano)})
	if err != nil {
		return nil, &InfoError{Reason: "rendering: " + err.Error()}
	}
	return b, nil
}

// timeInRange reports whether t is a time an .info document can carry: not zero, and
// in UTC between years 1 and 9999, which RFC 3339 can write.
func timeInRange(t time.Time) bool {
	u := t.UTC()
	return !t.IsZero() && u.Year() >= 1 && u.Year() <= 9999
}

// clip cuts an error text from a hostile document to a log-friendly length.
func clip(s string) string {
	const limit = 200
	if len(s) <= limit {
		return s
	}
	cut := limit
	for cut > 0 && s[cut]&0xC0 == 0x80 {
		cut--
	}
	return s[:cut] + "..."
}
