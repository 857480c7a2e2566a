package app

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strings"
	"time"
)

// toolchainSumDBKey returns the verifier key of the checksum database the installed go
// command uses by default, for a go mount whose document gives none. The go command
// names its database (go env GOSUMDB) and keeps the keys of the databases it knows in
// its own source, which every Go installation ships; Écluse reads the key from there
// rather than carrying a copy. A GOSUMDB that already is a full key is used as is;
// "off" is refused (Écluse needs a database: it is Go's integrity floor).
func toolchainSumDBKey() (string, error) {
	ctx, cancel := context.WithTimeout(context.Background(), 20*time.Second)
	defer cancel()
	goBin, err := exec.LookPath("go")
	if err != nil {
		return "", errors.New("no go command on PATH")
	}
	out, err := exec.CommandContext(ctx, goBin, "env", "GOSUMDB", "GOROOT").Output()
	if err != nil {
		return "", fmt.Errorf("go env: %w", err)
	}
	lines := strings.Split(strings.TrimSpace(string(out)), "\n")
	if len(lines) != 2 {
		return "", errors.New("go env printed an unexpected answer")
	}
	name, goroot := strings.TrimSpace(lines[0]), strings.TrimSpace(lines[1])
	name, _, _ = strings.Cut(name, " ") // GOSUMDB may be followed by the database's URL
	switch {
	case name == "" || name == "off":
		return "", errors.New("the go command's GOSUMDB is off")
	case strings.Count(name, "+") >= 2:
		return name, nil
	}
	src, err := os.ReadFile(filepath.Join(goroot, "src", "cmd", "go", "internal", "modfetch", "key.go"))
	if err != nil {
		return "", fmt.Errorf("the toolchain's list of known databases: %w", err)
	}
	return knownKey(src, name)
}

// knownKey finds the quoted verifier key of database name in the go command's source.
func knownKey(src []byte, name string) (string, error) {
	re := regexp.MustCompile(`"(` + regexp.QuoteMeta(name) + `\+[0-9a-f]{8}\+[A-Za-z0-9+/=]+)"`)
	m := re.FindSubmatch(src)
	if m == nil || bytes.Count(m[1], []byte("+")) < 2 {
		return "", fmt.Errorf("the toolchain knows no key for the database %q", name)
	}
	return string(m[1]), nil
}
