package app

import (
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

	"github.com/ecluse/ecluse/internal/config"
	"github.com/ecluse/ecluse/internal/gate"
	"github.com/ecluse/ecluse/internal/redact"
)

// ExplainRequest asks a running Écluse to explain a package's decisions.
type ExplainRequest struct {
	// Base is the Écluse base URL.
	Base string
	// Spec is NAME or NAME@VERSION (a scoped name keeps its leading @).
	Spec string
	// Token is the edge token, if the instance requires one.
	Token redact.Secret
	// JSON prints the raw JSON instead of a table.
	JSON bool
}

// splitSpec separates "name@version" (the scope's @ is not a separator).
func splitSpec(spec string) (name, version string) {
	at := strings.LastIndex(spec, "@")
	if at <= 0 {
		return spec, ""
	}
	return spec[:at], spec[at+1:]
}

// Explain fetches /-/ecluse/explain/... and prints it for a person.
func Explain(ctx context.Context, req ExplainRequest, w io.Writer) error {
	base, err := config.ParseHTTPURL(req.Base)
	if err != nil {
		return fmt.Errorf("--url %w", err)
	}
	name, version := splitSpec(req.Spec)
	path := "-/ecluse/explain/" + strings.Replace(url.PathEscape(name), "%2F", "%2f", 1)
	if version != "" {
		path += "/" + url.PathEscape(version)
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
			return fmt.Errorf("%s (%d)", e.Error, resp.StatusCode)
		}
		return fmt.Errorf("unexpected answer %s", resp.Status)
	}
	if req.JSON {
		_, err := w.Write(body)
		return err
	}
	var ex gate.Explanation
	if err := json.Unmarshal(body, &ex); err != nil {
		return errors.New("the answer is not an explanation document")
	}
	fmt.Fprintf(w, "%s: served from %s, %d admitted, %d blocked (decided at %s)\n",
		ex.Name, ex.Source, ex.Admitted, ex.Blocked, ex.Now.UTC().Format(time.RFC3339))
	if ex.Warning != "" {
		fmt.Fprintf(w, "warning: %s\n", ex.Warning)
	}
	tw := tabwriter.NewWriter(w, 2, 4, 2, ' ', 0)
	fmt.Fprintln(tw, "VERSION\tDECISION\tRULE\tREASON")
	for _, v := range ex.Versions {
		decision := "blocked"
		if v.Admitted {
			decision = "admitted"
		}
		reason := v.Reason
		if v.AdmitAt != nil {
			reason += " [admitted from " + v.AdmitAt.UTC().Format(time.RFC3339) + "]"
		}
		fmt.Fprintf(tw, "%s\t%s\t%s\t%s\n", v.Version, decision, v.Rule, reason)
	}
	return tw.Flush()
}
