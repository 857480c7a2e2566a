package main

import (
	"context"
	"flag"
	"fmt"
	"io"
	"os"

	"github.com/ecluse/ecluse/internal/redact"
)

func explain(args []string, stdout, stderr io.Writer) int {
	fs := flag.NewFlagSet("explain", flag.ContinueOnError)
	fs.SetOutput(stderr)
	base := fs.String("url", os.Getenv("ECLUSE_URL"), "base URL of the running Écluse (default $ECLUSE_URL)")
	asJSON := fs.Bool("json", false, "print the raw JSON answer")
	ecosystem := fs.String("ecosystem", "npm", "the mount's ecosystem: npm, or go (then --url is the mount's URL, such as http://ecluse:4873/go/, and NAME a module path)")
	fs.Usage = func() {
		fmt.Fprintln(stderr, "Usage: ecluse explain NAME[@VERSION] --url URL [--ecosystem npm|go] [--json]\n\n"+
			"Ask a running Écluse why each version of a package is admitted or denied.\n"+
			"The edge token, when needed, is read from ECLUSE_TOKEN.\n\nFlags:")
		fs.PrintDefaults()
	}
	// Accept the package before or after the flags.
	var spec string
	if len(args) > 0 && len(args[0]) > 0 && args[0][0] != '-' {
		spec, args = args[0], args[1:]
	}
	if err := fs.Parse(args); err != nil {
		return flagExit(err)
	}
	if spec == "" && fs.NArg() > 0 {
		spec = fs.Arg(0)
	}
	if spec == "" || *base == "" {
		fs.Usage()
		return 2
	}
	if *ecosystem != "npm" && *ecosystem != "go" {
		fmt.Fprintf(stderr, "ecluse explain: unknown --ecosystem %q (npm or go)\n", *ecosystem)
		return 2
	}
	req := explainRequest{Base: *base, Spec: spec, Token: redact.New(os.Getenv("ECLUSE_TOKEN")), JSON: *asJSON, Go: *ecosystem == "go"}
	if err := askExplain(context.Background(), req, stdout); err != nil {
		fmt.Fprintln(stderr, "ecluse explain:", err)
		return 1
	}
	return 0
}
