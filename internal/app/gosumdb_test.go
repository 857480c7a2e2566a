package app

import (
	"os/exec"
	"strings"
	"testing"
)

func TestKnownKey(t *testing.T) {
	src := []byte(`var knownGOSUMDB = map[string]string{
	"db.example.test": "db.example.test+0123abcd+AbCd/ef+gh=",
}`)
	if got, err := knownKey(src, "db.example.test"); err != nil || got != "db.example.test+0123abcd+AbCd/ef+gh=" {
		t.Errorf("knownKey = %q, %v", got, err)
	}
	if _, err := knownKey(src, "other.example.test"); err == nil {
		t.Error("knownKey of an unknown database = nil error")
	}
	if _, err := knownKey(src, "db.example"); err == nil {
		t.Error("knownKey matched a prefix of a name")
	}
}

// TestToolchainSumDBKey reads the installed go command's default database key, which
// a go mount without a configured key uses. The go command is on every machine that
// builds Écluse.
func TestToolchainSumDBKey(t *testing.T) {
	out, err := exec.Command("go", "env", "GOSUMDB").Output()
	if err != nil {
		t.Fatalf("go env GOSUMDB: %v", err)
	}
	name := strings.TrimSpace(string(out))
	key, err := toolchainSumDBKey()
	if name == "off" {
		if err == nil {
			t.Error("GOSUMDB=off gave a key")
		}
		return
	}
	if err != nil {
		t.Fatal(err)
	}
	if !strings.HasPrefix(key, strings.Fields(name)[0]) || strings.Count(key, "+") < 2 {
		t.Errorf("toolchainSumDBKey = %q, want the key of %q", key, name)
	}
}
