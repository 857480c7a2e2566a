// Command ecluse is the Écluse registry policy gate. It only parses the command line
// and hands over to internal/app.
package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"os"
	"os/signal"
	"runtime/debug"
	"syscall"
	"time"

	"github.com/ecluse/ecluse/internal/app"
	"github.com/ecluse/ecluse/internal/config"
	"github.com/ecluse/ecluse/internal/observe"
)

// version and commit are set at build time with -ldflags "-X main.version=... -X
// main.commit=..." (scripts/release.sh does). Without a commit, the VCS revision Go
// stamps into a build from a checkout is shown instead.
var (
	version = "dev"
	commit  = ""
)

const usage = `Écluse: a deny-by-default policy gate between package managers and the npm registry.

Usage:
  ecluse [serve] [--config PATH]      run the proxy (the default command)
  ecluse check-config [--config PATH] validate the configuration and print the effective
                                      configuration and rule policy as JSON
  ecluse explain NAME[@VERSION] --url URL
                                      show why each version of a package is admitted or denied
  ecluse version                      print the version

Configuration comes from environment variables (see the README) and an optional JSON
document given by --config PATH, PROXY_CONFIG_FILE, or inline in PROXY_CONFIG.
Run "ecluse COMMAND --help" for a command's flags.
`

func main() {
	os.Exit(run(os.Args[1:], os.Stdout, os.Stderr))
}

func run(args []string, stdout, stderr io.Writer) int {
	cmd := "serve"
	if len(args) > 0 && len(args[0]) > 0 && args[0][0] != '-' {
		cmd, args = args[0], args[1:]
	} else if len(args) > 0 && (args[0] == "-h" || args[0] == "--help" || args[0] == "-help") {
		fmt.Fprint(stdout, usage)
		return 0
	}
	switch cmd {
	case "serve":
		return serve(args, stderr)
	case "check-config":
		return checkConfig(args, stdout, stderr)
	case "explain":
		return explain(args, stdout, stderr)
	case "version":
		fs := flag.NewFlagSet("version", flag.ContinueOnError)
		fs.SetOutput(stderr)
		fs.Usage = func() { fmt.Fprintln(stderr, "Usage: ecluse version\n\nPrint the version and build information.") }
		if err := fs.Parse(args); err != nil {
			return flagExit(err)
		}
		fmt.Fprintln(stdout, "ecluse", versionString())
		return 0
	case "help":
		fmt.Fprint(stdout, usage)
		return 0
	default:
		fmt.Fprintf(stderr, "ecluse: unknown command %q\n\n%s", cmd, usage)
		return 2
	}
}

func flagExit(err error) int {
	if errors.Is(err, flag.ErrHelp) {
		return 0
	}
	return 2
}

func configFlags(name, help string, stderr io.Writer) (*flag.FlagSet, *string) {
	fs := flag.NewFlagSet(name, flag.ContinueOnError)
	fs.SetOutput(stderr)
	path := fs.String("config", "", "path of the JSON configuration document (else PROXY_CONFIG_FILE or PROXY_CONFIG)")
	fs.Usage = func() {
		fmt.Fprintf(stderr, "Usage: ecluse %s [--config PATH]\n\n%s\n\nFlags:\n", name, help)
		fs.PrintDefaults()
	}
	return fs, path
}

// load validates everything and prints every problem, one per line, on failure.
func load(path string, stderr io.Writer) (*app.Loaded, bool) {
	l, problems := app.Load(config.Source{ConfigPath: path})
	if len(problems) > 0 {
		fmt.Fprintf(stderr, "ecluse: the configuration has %d problem(s):\n", len(problems))
		for _, p := range problems {
			fmt.Fprintln(stderr, "  "+p.String())
		}
		return nil, false
	}
	return l, true
}

func serve(args []string, stderr io.Writer) int {
	fs, path := configFlags("serve", "Run the proxy until SIGTERM or SIGINT.", stderr)
	if err := fs.Parse(args); err != nil {
		return flagExit(err)
	}
	l, ok := load(*path, stderr)
	if !ok {
		return 2
	}
	log, err := observe.NewLogger(os.Stdout, l.Config.LogFormat, l.Config.Debug, observe.ResolveIdentity(os.LookupEnv, versionString()))
	if err != nil {
		fmt.Fprintln(stderr, "ecluse:", err)
		return 2
	}
	ctx, stop := signal.NotifyContext(context.Background(), syscall.SIGTERM, syscall.SIGINT)
	defer stop()
	if err := app.Run(ctx, l, log, versionString()); err != nil {
		log.Error("ecluse stopped with an error", "error", err.Error())
		return 1
	}
	return 0
}

func checkConfig(args []string, stdout, stderr io.Writer) int {
	fs, path := configFlags("check-config",
		"Load and validate the whole configuration. On success print the effective configuration\n"+
			"(secrets redacted) and rule policy as JSON and exit 0; otherwise list every problem and exit 2.", stderr)
	syncAdv := fs.Bool("sync-advisories", false, "also load the advisory index once from CVE_SOURCE_URL and report its size and age (or why it failed)")
	if err := fs.Parse(args); err != nil {
		return flagExit(err)
	}
	l, ok := load(*path, stderr)
	if !ok {
		return 2
	}
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Minute)
	defer cancel()
	if err := app.WriteCheckReport(ctx, stdout, l, time.Now(), app.CheckOptions{SyncAdvisories: *syncAdv}); err != nil {
		fmt.Fprintln(stderr, "ecluse:", err)
		return 1
	}
	return 0
}

func versionString() string {
	v := version
	rev := commit
	bi, ok := debug.ReadBuildInfo()
	if rev == "" && ok {
		for _, s := range bi.Settings {
			if s.Key == "vcs.revision" {
				rev = s.Value
			}
		}
	}
	if len(rev) >= 12 {
		v += " (" + rev[:12] + ")"
	}
	if ok {
		v += " " + bi.GoVersion
	}
	return v
}
