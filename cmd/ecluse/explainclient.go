package main

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"strings"
	"text/tabwriter"
	"time"
	"unicode/utf8"

	"github.com/ecluse/ecluse/internal/config"
	"github.com/ecluse/ecluse/internal/gate"
	"github.com/ecluse/ecluse/internal/modgate"
	"github.com/ecluse/ecluse/internal/policy"
	"github.com/ecluse/ecluse/internal/redact"
)

// explainRequest asks a running Écluse to explain a package's decisions.
type explainRequest struct {
	// Base is the Écluse base URL.
	Base string
	// Spec is NAME or NAME@VERSION (a scoped name keeps its leading @).
	Spec string
	// Token is the edge token, if the instance requires one.
	Token redact.Secret
	// JSON prints the raw JSON instead of a table.
	JSON bool
	// Go says Base is a Go modules mount and Spec a module path (MODULE[@VERSION]).
	Go bool
}

// splitSpec separates "name@version" (the scope's @ is not a separator).
func splitSpec(spec string) (name, version string) {
	at := strings.LastIndex(spec, "@")
	if at <= 0 {
		return spec, ""
	}
	return spec[:at], spec[at+1:]
}

// askExplain fetches /-/ecluse/explain/... and prints it for a person.
func askExplain(ctx context.Context, req explainRequest, w io.Writer) error {
	base, err := config.ParseHTTPURL(req.Base)
	if err != nil {
		return fmt.Errorf("--url %w", err)
	}
	name, version := splitSpec(req.Spec)
	path := "-/ecluse/explain/" + strings.Replace(url.PathEscape(name), "%2F", "%2f", 1)
	if version != "" {
		path += "/" + url.PathEscape(version)
	}
	if req.Go {
		// A module path keeps its slashes; the version follows /@v/.
		path = "-/ecluse/explain/" + (&url.URL{Path: name}).EscapedPath()
		if version != "" {
			path += "/@v/" + url.PathEscape(version)
		}
	}
	if !strings.HasSuffix(base.Path, "/") {
		base.Path += "/"
	}
	u, err := url.Parse(base.String() + path)
	if err != nil {
		return fmt.Errorf("build the request URL: %w", err)
	}
	ctx, cancel := context.WithTimeout(ctx, 60*time.Second)
	defer cancel()
	hreq, err := http.NewRequestWithContext(ctx, http.MethodGet, u.String(), nil)
	if err != nil {
		return fmt.Errorf("build the request: %w", err)
	}
	if req.Token.IsSet() {
		hreq.Header.Set("Authorization", "Bearer "+req.Token.Reveal())
	}
	resp, err := http.DefaultClient.Do(hreq)
	if err != nil {
		return fmt.Errorf("ask %s: %w", base.Redacted(), err)
	}
	defer resp.Body.Close()
	body, err := io.ReadAll(io.LimitReader(resp.Body, 64<<20))
	if err != nil {
		return fmt.Errorf("read the answer: %w", err)
	}
	if resp.StatusCode != http.StatusOK {
		var e struct {
			Error string `json:"error"`
		}
		if json.Unmarshal(body, &e) == nil && e.Error != "" {
			return fmt.Errorf("%s (%d)", printable(e.Error), resp.StatusCode)
		}
		if req.Go && strings.HasPrefix(resp.Header.Get("Content-Type"), "text/plain") && len(body) > 0 {
			return fmt.Errorf("%s (%d)", printable(strings.TrimSpace(string(body[:min(len(body), 1000)]))), resp.StatusCode)
		}
		return fmt.Errorf("unexpected answer %s", printable(resp.Status))
	}
	if req.JSON {
		_, err := w.Write(escapeControls(body))
		return err
	}
	if req.Go {
		return printModuleExplanation(w, body)
	}
	var ex gate.Explanation
	if err := json.Unmarshal(body, &ex); err != nil {
		return errors.New("the answer is not an explanation document")
	}
	// Versions, reasons and names come from upstream documents, which are hostile: every
	// string is printed with control characters escaped, so none reaches the terminal.
	fmt.Fprintf(w, "%s: served from %s, %d admitted, %d blocked (decided at %s)\n",
		printable(ex.Name), printable(ex.Source), ex.Admitted, ex.Blocked, ex.Now.UTC().Format(time.RFC3339))
	if ex.Warning != "" {
		fmt.Fprintf(w, "warning: %s\n", printable(ex.Warning))
	}
	if !ex.Advisories.Loaded {
		fmt.Fprintln(w, "advisory index: not loaded yet (the advisory rules fail closed or abstain, as set)")
	}
	tw := tabwriter.NewWriter(w, 2, 4, 2, ' ', 0)
	fmt.Fprintln(tw, "VERSION\tDECISION\tRULE\tADVISORIES\tREASON")
	for _, v := range ex.Versions {
		decision := "blocked"
		if v.Admitted {
			decision = "admitted"
		}
		reason := v.Reason
		if v.AdmitAt != nil {
			reason += " [admitted from " + v.AdmitAt.UTC().Format(time.RFC3339) + "]"
		}
		fmt.Fprintf(tw, "%s\t%s\t%s\t%s\t%s\n", printable(v.Version), decision, printable(v.Rule), printable(describeAdvisories(v.Advisories)), printable(reason))
	}
	return tw.Flush()
}

// describeAdvisories lists a version's advisories for the table, each with the rules
// it fed: "GHSA-x (high) → cve; fixes GHSA-y of 1.0.0 → remediation-fast-track".
func describeAdvisories(notes []policy.AdvisoryNote) string {
	if len(notes) == 0 {
		return "-"
	}
	parts := make([]string, 0, len(notes))
	for _, n := range notes {
		s := n.ID + " (" + n.Severity + ")"
		if n.Malware {
			s = n.ID + " (malware)"
		}
		if n.Fixes != "" {
			s = "fixes " + n.ID + " of " + n.Fixes
		}
		if len(n.Rules) > 0 {
			s += " → " + strings.Join(n.Rules, ",")
		}
		parts = append(parts, s)
	}
	return strings.Join(parts, "; ")
}

// printModuleExplanation prints a Go modules mount's explanation as a table.
func printModuleExplanation(w io.Writer, body []byte) error {
	var ex modgate.Explanation
	if err := json.Unmarshal(body, &ex); err != nil || ex.Module == "" {
		return errors.New("the answer is not a module explanation document")
	}
	fmt.Fprintf(w, "%s: served from %s, %d admitted, %d blocked (decided at %s)\n",
		printable(ex.Module), printable(ex.Source), ex.Admitted, ex.Blocked, ex.Now.UTC().Format(time.RFC3339))
	tw := tabwriter.NewWriter(w, 2, 4, 2, ' ', 0)
	fmt.Fprintln(tw, "VERSION\tDECISION\tRULE\tPUBLISHED\tCHECKSUM DB\tADVISORIES\tREASON")
	for _, v := range ex.Versions {
		decision := "blocked"
		if v.Admitted {
			decision = "admitted"
		}
		published := "-"
		if v.Published != nil {
			published = v.Published.UTC().Format(time.RFC3339)
			if v.TimeSource != "" {
				published += " (" + printable(v.TimeSource) + ")"
			}
		}
		reason := v.Reason
		if v.AdmitAt != nil {
			reason += " [admitted from " + v.AdmitAt.UTC().Format(time.RFC3339) + "]"
		}
		fmt.Fprintf(tw, "%s\t%s\t%s\t%s\t%s\t%s\t%s\n", printable(v.Version), decision, printable(v.Rule), published, printable(v.SumDB),
			printable(describeAdvisories(v.Advisories)), printable(reason))
	}
	return tw.Flush()
}

// printable returns s with every character a terminal could act on (C0 and C1 controls,
// DEL, and the invisible bidirectional and zero-width formatting marks) written as an
// escape such as \x1b or \u202e, so an upstream's text cannot move the cursor, change
// colours, rewrite the title or hide itself. Tabs are escaped too: they would break the
// table's columns. Anything else is kept, accented letters included.
func printable(s string) string {
	clean := true
	for _, r := range s {
		if !safeRune(r) {
			clean = false
			break
		}
	}
	if clean {
		return s
	}
	var b strings.Builder
	for i, r := range s {
		switch {
		case r == utf8.RuneError && !validAt(s, i):
			fmt.Fprintf(&b, "\\x%02x", s[i])
		case safeRune(r):
			b.WriteRune(r)
		case r < 0x100:
			fmt.Fprintf(&b, "\\x%02x", r)
		default:
			fmt.Fprintf(&b, "\\u%04x", r)
		}
	}
	return b.String()
}

// validAt reports whether the rune at s[i] is a real U+FFFD rather than a bad byte.
func validAt(s string, i int) bool {
	r, size := utf8.DecodeRuneInString(s[i:])
	return r != utf8.RuneError || size == 3
}

// safeRune reports whether r can be printed as itself.
func safeRune(r rune) bool {
	switch {
	case r < 0x20, r == 0x7f, r >= 0x80 && r < 0xa0:
		return false
	case r == 0x200b, r == 0x200c, r == 0x200d, r == 0x200e, r == 0x200f, r == 0xfeff:
		return false
	case r >= 0x202a && r <= 0x202e, r >= 0x2066 && r <= 0x2069:
		return false
	}
	return r != utf8.RuneError
}

// escapeControls rewrites, in a JSON document, the characters JSON allows raw inside
// strings but a terminal acts on (DEL, C1 controls, bidirectional marks) as \u escapes,
// which decode to the same text. (JSON already requires C0 controls to be escaped.)
func escapeControls(body []byte) []byte {
	var b bytes.Buffer
	for i := 0; i < len(body); {
		r, size := utf8.DecodeRune(body[i:])
		if r == utf8.RuneError && size <= 1 || r >= 0x20 && !safeRune(r) {
			if r == utf8.RuneError {
				r = rune(body[i])
			}
			fmt.Fprintf(&b, "\\u%04x", r)
		} else {
			b.Write(body[i : i+size])
		}
		i += max(size, 1)
	}
	return b.Bytes()
}
