package config

import (
	"net/url"
	"strings"
)

// OSVExportBase is where OSV publishes its exports, one directory per ecosystem, each
// holding all.zip: the default advisory sources. It is OSV's data bucket, not a package
// registry.
const OSVExportBase = "https://osv-vulnerabilities.storage.googleapis.com"

// osvEcosystemDirs names OSV's export directory for each mount ecosystem that reads
// advisories.
var osvEcosystemDirs = map[string]string{EcosystemNPM: "npm", EcosystemGo: "Go", EcosystemPyPI: "PyPI"}

// defaultCVESources is OSV's export for each ecosystem the mounts serve, npm's first.
func defaultCVESources(mounts []Mount) []string {
	var out []string
	for _, eco := range []string{EcosystemNPM, EcosystemGo, EcosystemPyPI} {
		for _, m := range mounts {
			if m.Ecosystem == eco {
				out = append(out, OSVExportBase+"/"+osvEcosystemDirs[eco]+"/all.zip")
				break
			}
		}
	}
	return out
}

// loadCVE reads CVE_SOURCE_URL and CVE_MAX_DOWNLOAD_BYTES. It runs after the mounts
// are resolved: the default sources depend on the ecosystems served.
func (l *loader) loadCVE(c *Config) {
	l.positiveInt("CVE_MAX_DOWNLOAD_BYTES", &c.CVEMaxDownloadBytes)
	raw, ok := l.lookup("CVE_SOURCE_URL")
	if !ok {
		c.CVESources = defaultCVESources(c.Mounts)
		c.CVESourcesDefault = true
		return
	}
	c.CVESources = nil
	bad := 0
	for i, entry := range strings.Split(raw, ",") {
		entry = strings.TrimSpace(entry)
		if msg := checkCVESource(entry); msg != "" {
			l.addf("CVE_SOURCE_URL", "entry %d: %s", i+1, msg)
			bad++
			continue
		}
		c.CVESources = append(c.CVESources, entry)
	}
	if len(c.CVESources) == 0 && bad == 0 {
		l.addf("CVE_SOURCE_URL", "names no source; give an https URL of an OSV export, or a local zip or directory of OSV records")
	}
}

// CVESourceIsURL reports whether a CVE_SOURCE_URL entry is a URL rather than a path.
func CVESourceIsURL(entry string) bool { return strings.Contains(entry, "://") }

// checkCVESource returns "" for a usable entry, else what is wrong with it.
func checkCVESource(entry string) string {
	if entry == "" {
		return "is empty"
	}
	if !CVESourceIsURL(entry) {
		return "" // a local path; whether it can be read is the sync's to say
	}
	u, err := url.Parse(entry)
	switch {
	case err != nil:
		return "is not a valid URL"
	case u.Scheme != "https":
		return "a source URL must use https (a local path needs no scheme)"
	case u.Host == "":
		return "a source URL needs a host"
	case u.User != nil:
		return "a source URL must not carry credentials; they would be printed with the configuration"
	}
	return ""
}
