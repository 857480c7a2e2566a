package release

import (
	"bytes"
	"errors"
	"io"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"

	"go.yaml.in/yaml/v3"
)

// deployDir holds the deployment examples, at the repository's root.
var deployDir = filepath.Join("..", "..", "deploy")

// object is a Kubernetes manifest as a generic tree.
type object map[string]any

func (o object) kind() string { s, _ := o["kind"].(string); return s }

func (o object) name() string { s, _ := get(o, "metadata", "name").(string); return s }

// get walks maps by key.
func get(v any, path ...string) any {
	for _, k := range path {
		m, ok := v.(map[string]any)
		if !ok {
			if o, isObj := v.(object); isObj {
				m = o
			} else {
				return nil
			}
		}
		v = m[k]
	}
	return v
}

func list(v any) []any { l, _ := v.([]any); return l }

// manifests reads every document of every YAML file under deploy/kubernetes.
func manifests(t *testing.T) []object {
	t.Helper()
	files, err := filepath.Glob(filepath.Join(deployDir, "kubernetes", "*.yaml"))
	if err != nil || len(files) == 0 {
		t.Fatalf("no manifests under %s: %v", deployDir, err)
	}
	var out []object
	for _, f := range files {
		b, err := os.ReadFile(f)
		if err != nil {
			t.Fatal(err)
		}
		dec := yaml.NewDecoder(bytes.NewReader(b))
		for {
			var o map[string]any
			if err := dec.Decode(&o); errors.Is(err, io.EOF) {
				break
			} else if err != nil {
				t.Fatalf("%s: %v", f, err)
			}
			if o == nil {
				continue
			}
			if o["apiVersion"] == nil || o["kind"] == nil || get(o, "metadata", "name") == nil {
				t.Errorf("%s: a document lacks apiVersion, kind or metadata.name: %v", f, o)
			}
			out = append(out, object(o))
		}
	}
	return out
}

func find(t *testing.T, objs []object, kind, name string) object {
	t.Helper()
	for _, o := range objs {
		if o.kind() == kind && o.name() == name {
			return o
		}
	}
	t.Fatalf("no %s %q in deploy/kubernetes", kind, name)
	return nil
}

// TestDeploymentHardening: the pod runs as 65532, read-only, without privilege
// escalation or capabilities, with probes on /livez and /readyz, bounded resources, and
// an image pinned by digest.
func TestDeploymentHardening(t *testing.T) {
	d := find(t, manifests(t), "Deployment", "ecluse")
	pod := get(d, "spec", "template", "spec")
	if get(pod, "securityContext", "runAsNonRoot") != true || get(pod, "securityContext", "runAsUser") != 65532 {
		t.Errorf("pod securityContext %v", get(pod, "securityContext"))
	}
	if get(pod, "automountServiceAccountToken") != false {
		t.Error("the pod mounts a service account token it does not need")
	}
	containers := list(get(pod, "containers"))
	if len(containers) != 1 {
		t.Fatalf("%d containers", len(containers))
	}
	c := containers[0]
	sc := get(c, "securityContext")
	if get(sc, "readOnlyRootFilesystem") != true || get(sc, "allowPrivilegeEscalation") != false ||
		get(sc, "runAsNonRoot") != true || get(sc, "runAsUser") != 65532 ||
		!slices.Contains(list(get(sc, "capabilities", "drop")), any("ALL")) {
		t.Errorf("container securityContext %v", sc)
	}
	if img, _ := get(c, "image").(string); !strings.Contains(img, "@sha256:") {
		t.Errorf("image %q is not pinned by digest", img)
	}
	if get(c, "livenessProbe", "httpGet", "path") != "/livez" || get(c, "readinessProbe", "httpGet", "path") != "/readyz" {
		t.Errorf("probes %v %v", get(c, "livenessProbe"), get(c, "readinessProbe"))
	}
	if get(c, "resources", "limits", "memory") == nil || get(c, "resources", "requests", "cpu") == nil {
		t.Errorf("resources %v", get(c, "resources"))
	}
	ports := list(get(c, "ports"))
	if len(ports) != 1 || get(ports[0], "containerPort") != 4873 {
		t.Errorf("ports %v", ports)
	}
	env := map[string]bool{}
	for _, e := range list(get(c, "env")) {
		n, _ := get(e, "name").(string)
		env[n] = true
		if strings.Contains(n, "TOKEN") && get(e, "value") != nil {
			t.Errorf("%s is written into the manifest instead of coming from a Secret", n)
		}
	}
	for _, n := range []string{"PUBLIC_UPSTREAM_URL", "PRIVATE_UPSTREAM_URL", "PROXY_PUBLIC_URL"} {
		if !env[n] {
			t.Errorf("env lacks %s", n)
		}
	}
	// A read-only root needs somewhere to write temporary files.
	mounted := false
	for _, m := range list(get(c, "volumeMounts")) {
		mounted = mounted || get(m, "mountPath") == "/tmp"
	}
	if !mounted {
		t.Error("no writable /tmp under a read-only root filesystem")
	}

	svc := find(t, manifests(t), "Service", "ecluse")
	if get(svc, "spec", "selector", "app.kubernetes.io/name") != get(d, "spec", "template", "metadata", "labels", "app.kubernetes.io/name") {
		t.Error("the Service does not select the Deployment's pods")
	}
}

// TestNetworkPolicyShape: the namespace denies all by default, and Écluse's own policy
// allows egress only to listed destinations, each on listed ports, including DNS and
// the metadata endpoint (which Écluse needs for its cloud credentials).
func TestNetworkPolicyShape(t *testing.T) {
	objs := manifests(t)
	deny := find(t, objs, "NetworkPolicy", "default-deny")
	if sel, _ := get(deny, "spec", "podSelector").(map[string]any); len(sel) != 0 {
		t.Errorf("default-deny selects %v, want every pod", sel)
	}
	types := list(get(deny, "spec", "policyTypes"))
	if !slices.Contains(types, any("Egress")) || !slices.Contains(types, any("Ingress")) ||
		get(deny, "spec", "egress") != nil || get(deny, "spec", "ingress") != nil {
		t.Errorf("default-deny %v", get(deny, "spec"))
	}

	p := find(t, objs, "NetworkPolicy", "ecluse")
	if !slices.Contains(list(get(p, "spec", "policyTypes")), any("Egress")) {
		t.Fatal("the ecluse policy does not govern egress")
	}
	var cidrs []string
	dns := false
	for _, rule := range list(get(p, "spec", "egress")) {
		to, ports := list(get(rule, "to")), list(get(rule, "ports"))
		if len(to) == 0 || len(ports) == 0 {
			t.Errorf("egress rule %v allows every destination or every port", rule)
		}
		for _, peer := range to {
			if c, ok := get(peer, "ipBlock", "cidr").(string); ok {
				if c == "0.0.0.0/0" || c == "::/0" {
					t.Errorf("egress to %s is not an allowlist", c)
				}
				cidrs = append(cidrs, c)
			}
		}
		for _, port := range ports {
			dns = dns || get(port, "port") == 53
		}
	}
	if !dns {
		t.Error("no DNS egress")
	}
	if !slices.Contains(cidrs, "169.254.169.254/32") {
		t.Error("the metadata endpoint is not allowed; Écluse needs it for its cloud credentials")
	}
	if len(cidrs) < 3 {
		t.Errorf("egress allows %v; want the public registry, the private one and the mirror target, and metadata", cidrs)
	}
}

// TestClientExamples: the .npmrc and the CI snippet point at Écluse and keep tokens out.
func TestClientExamples(t *testing.T) {
	npmrc, err := os.ReadFile(filepath.Join(deployDir, "npmrc.example"))
	if err != nil {
		t.Fatal(err)
	}
	if !strings.Contains(string(npmrc), "registry=https://ecluse.example.com/") || !strings.Contains(string(npmrc), "${NPM_TOKEN}") {
		t.Errorf("npmrc.example:\n%s", npmrc)
	}
	b, err := os.ReadFile(filepath.Join(deployDir, "ci", "github-actions.yml"))
	if err != nil {
		t.Fatal(err)
	}
	var wf map[string]any
	if err := yaml.Unmarshal(b, &wf); err != nil {
		t.Fatalf("github-actions.yml: %v", err)
	}
	steps := list(get(wf, "jobs", "build", "steps"))
	found := false
	for _, s := range steps {
		found = found || get(s, "with", "registry-url") == "https://ecluse.example.com/"
	}
	if !found {
		t.Error("the CI snippet does not point npm at Écluse")
	}
}
