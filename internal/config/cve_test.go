package config

import (
	"slices"
	"strings"
	"testing"
)

func TestCVESources(t *testing.T) {
	goMount := `{"mounts":{"npm":{"path":"/"},"go":{"path":"/go/","ecosystem":"go","publicUpstreamUrl":"https://goproxy.example.test/"}}}`
	tests := []struct {
		name        string
		env         map[string]string
		want        []string
		wantDefault bool
		problem     string
	}{
		{name: "default: OSV's npm export", env: nil, want: []string{OSVExportBase + "/npm/all.zip"}, wantDefault: true},
		{name: "default follows the mounts", env: map[string]string{"PROXY_CONFIG": goMount},
			want: []string{OSVExportBase + "/npm/all.zip", OSVExportBase + "/Go/all.zip"}, wantDefault: true},
		{name: "a local path and a URL", env: map[string]string{"CVE_SOURCE_URL": " /var/lib/osv , https://osv.example.test/npm/all.zip"},
			want: []string{"/var/lib/osv", "https://osv.example.test/npm/all.zip"}},
		{name: "http refused", env: map[string]string{"CVE_SOURCE_URL": "http://osv.example.test/all.zip"}, problem: "CVE_SOURCE_URL: entry 1: a source URL must use https"},
		{name: "credentials refused", env: map[string]string{"CVE_SOURCE_URL": "/x,https://u:p@osv.example.test/all.zip"}, problem: "CVE_SOURCE_URL: entry 2: a source URL must not carry credentials"},
		{name: "empty entry", env: map[string]string{"CVE_SOURCE_URL": "/x,,/y"}, problem: "CVE_SOURCE_URL: entry 2: is empty"},
		{name: "download bound", env: map[string]string{"CVE_MAX_DOWNLOAD_BYTES": "0"}, problem: "CVE_MAX_DOWNLOAD_BYTES: must be a positive integer"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			c, problems := Load(Source{Getenv: env(tt.env)})
			if tt.problem != "" {
				var lines []string
				for _, p := range problems {
					lines = append(lines, p.String())
				}
				if !strings.Contains(strings.Join(lines, "\n"), tt.problem) {
					t.Fatalf("Load problems = %v, want one containing %q", lines, tt.problem)
				}
				return
			}
			if len(problems) > 0 {
				t.Fatal(problems)
			}
			if !slices.Equal(c.CVESources, tt.want) || c.CVESourcesDefault != tt.wantDefault {
				t.Errorf("CVESources = %v (default %v), want %v (default %v)", c.CVESources, c.CVESourcesDefault, tt.want, tt.wantDefault)
			}
			if c.CVEMaxDownloadBytes != 1<<30 {
				t.Errorf("CVEMaxDownloadBytes = %d, want 1 GiB", c.CVEMaxDownloadBytes)
			}
		})
	}
}
