package main

import (
	"flag"
	"fmt"
	"io"
)

func explain(args []string, stdout, stderr io.Writer) int {
	fs := flag.NewFlagSet("explain", flag.ContinueOnError)
	fs.SetOutput(stderr)
	fs.Usage = func() {
		fmt.Fprintln(stderr, "Usage: ecluse explain NAME[@VERSION] --url URL\n\nAsk a running Écluse why each version of a package is admitted or denied.\n\nFlags:")
		fs.PrintDefaults()
	}
	if err := fs.Parse(args); err != nil {
		return flagExit(err)
	}
	fmt.Fprintln(stderr, "ecluse explain: not available in this build")
	_ = stdout
	return 2
}
