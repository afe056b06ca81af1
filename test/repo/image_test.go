package repo

import (
	"archive/tar"
	"bytes"
	"compress/gzip"
	"crypto/sha256"
	"debug/elf"
	"encoding/hex"
	"encoding/json"
	"io"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strings"
	"testing"
)

// blob reads a blob of an OCI layout and checks it is what its digest says.
func blob(t *testing.T, layout, digest string) []byte {
	t.Helper()
	hexDigest := strings.TrimPrefix(digest, "sha256:")
	data, err := os.ReadFile(filepath.Join(layout, "blobs", "sha256", hexDigest))
	if err != nil {
		t.Fatal(err)
	}
	if sum := sha256.Sum256(data); hex.EncodeToString(sum[:]) != hexDigest {
		t.Fatalf("blob %s does not match its digest", digest)
	}
	return data
}

type desc struct {
	MediaType   string            `json:"mediaType"`
	Digest      string            `json:"digest"`
	Size        int64             `json:"size"`
	Annotations map[string]string `json:"annotations"`
}

// The image make image writes: one layer holding the static operator alone, run as 65532 with
// no shell, carrying the OCI labels; valid as an OCI layout (digests, sizes, diff ID).
func TestImageHoldsTheStaticOperatorAlone(t *testing.T) {
	dir := t.TempDir()
	bin := filepath.Join(dir, "rempart")
	build := exec.Command("go", "build", "-trimpath", "-buildvcs=false", "-o", bin, "../..")
	build.Env = append(os.Environ(), "CGO_ENABLED=0", "GOOS=linux", "GOARCH=amd64")
	if out, err := build.CombinedOutput(); err != nil {
		t.Fatalf("build the operator: %v\n%s", err, out)
	}
	layout := filepath.Join(dir, "image")
	const ref = "localhost/rempart-image-test:9.9.9"
	gen := exec.Command("go", "run", "../../hack/image", "--binary", bin, "--out", layout, "--tag", ref,
		"--version", "9.9.9", "--revision", "0123456789abcdef", "--licenses", "NOASSERTION")
	if out, err := gen.CombinedOutput(); err != nil {
		t.Fatalf("hack/image: %v\n%s", err, out)
	}
	if _, err := os.Stat(layout + ".tar"); err != nil {
		t.Errorf("no oci-archive next to the layout: %v", err)
	}
	var index struct {
		Manifests []desc `json:"manifests"`
	}
	raw, err := os.ReadFile(filepath.Join(layout, "index.json"))
	if err != nil {
		t.Fatal(err)
	}
	if err := json.Unmarshal(raw, &index); err != nil || len(index.Manifests) != 1 {
		t.Fatalf("index.json: %v %+v", err, index)
	}
	if index.Manifests[0].Annotations["org.opencontainers.image.ref.name"] != ref {
		t.Errorf("the image is not tagged: %+v", index.Manifests[0])
	}
	var manifest struct {
		Config desc   `json:"config"`
		Layers []desc `json:"layers"`
	}
	if err := json.Unmarshal(blob(t, layout, index.Manifests[0].Digest), &manifest); err != nil {
		t.Fatal(err)
	}
	var cfg struct {
		Architecture string `json:"architecture"`
		OS           string `json:"os"`
		Config       struct {
			User       string            `json:"User"`
			Entrypoint []string          `json:"Entrypoint"`
			Cmd        []string          `json:"Cmd"`
			Labels     map[string]string `json:"Labels"`
		} `json:"config"`
		RootFS struct {
			DiffIDs []string `json:"diff_ids"`
		} `json:"rootfs"`
	}
	if err := json.Unmarshal(blob(t, layout, manifest.Config.Digest), &cfg); err != nil {
		t.Fatal(err)
	}
	if cfg.OS != "linux" || cfg.Architecture != "amd64" || cfg.Config.User != "65532:65532" ||
		len(cfg.Config.Entrypoint) != 1 || cfg.Config.Entrypoint[0] != "/rempart" || len(cfg.Config.Cmd) != 0 {
		t.Errorf("config %+v: want linux/amd64, user 65532:65532, entrypoint /rempart", cfg)
	}
	for key, want := range map[string]string{"org.opencontainers.image.source": "https://github.com/rempart-io/rempart",
		"org.opencontainers.image.version": "9.9.9", "org.opencontainers.image.revision": "0123456789abcdef",
		"org.opencontainers.image.licenses": "NOASSERTION"} {
		if cfg.Config.Labels[key] != want {
			t.Errorf("label %s = %q, want %q", key, cfg.Config.Labels[key], want)
		}
	}
	if len(manifest.Layers) != 1 || len(cfg.RootFS.DiffIDs) != 1 || manifest.Layers[0].MediaType != "application/vnd.oci.image.layer.v1.tar+gzip" {
		t.Fatalf("layers %+v, diff IDs %v: want one gzip layer", manifest.Layers, cfg.RootFS.DiffIDs)
	}
	gz, err := gzip.NewReader(bytes.NewReader(blob(t, layout, manifest.Layers[0].Digest)))
	if err != nil {
		t.Fatal(err)
	}
	uncompressed, err := io.ReadAll(gz)
	if err != nil {
		t.Fatal(err)
	}
	if sum := sha256.Sum256(uncompressed); "sha256:"+hex.EncodeToString(sum[:]) != cfg.RootFS.DiffIDs[0] {
		t.Error("the layer does not match its diff ID")
	}
	tr := tar.NewReader(bytes.NewReader(uncompressed))
	var names []string
	var content []byte
	for {
		h, err := tr.Next()
		if err == io.EOF {
			break
		}
		if err != nil {
			t.Fatal(err)
		}
		names = append(names, h.Name)
		if h.Mode&0o111 == 0 {
			t.Errorf("%s is not executable", h.Name)
		}
		if content, err = io.ReadAll(tr); err != nil {
			t.Fatal(err)
		}
	}
	if len(names) != 1 || names[0] != "rempart" {
		t.Fatalf("the layer holds %v: want the operator alone (no shell, no package manager)", names)
	}
	runImage(t, layout+".tar", ref)

	f, err := elf.NewFile(bytes.NewReader(content))
	if err != nil {
		t.Fatalf("the layer's rempart is not an ELF binary: %v", err)
	}
	for _, p := range f.Progs {
		if p.Type == elf.PT_INTERP {
			t.Error("rempart is dynamically linked: the image has no libc")
		}
	}
}

// The tag make image builds is the one the chart (appVersion) and kustomize (newTag) deploy, and
// the Dockerfile builds the same image for CI elsewhere.
func TestImageTagAndDockerfileAgree(t *testing.T) {
	read := func(path string) string {
		b, err := os.ReadFile(filepath.Join("../..", path))
		if err != nil {
			t.Fatal(err)
		}
		return string(b)
	}
	appVersion := regexp.MustCompile(`(?m)^appVersion: "([^"]+)"`).FindStringSubmatch(read("charts/rempart/Chart.yaml"))
	newTag := regexp.MustCompile(`(?m)^\s+newTag: (\S+)`).FindStringSubmatch(read("config/manager/kustomization.yaml"))
	if appVersion == nil || newTag == nil || appVersion[1] != newTag[1] {
		t.Fatalf("chart appVersion %v, kustomize newTag %v: they must be equal", appVersion, newTag)
	}
	if !strings.Contains(read("config/manager/manager.yaml"), "image: ghcr.io/rempart-io/rempart:"+appVersion[1]) {
		t.Error("config/manager/manager.yaml names another tag")
	}
	out, err := exec.Command("make", "-s", "-C", "../..", "print-image").Output()
	if err != nil || strings.TrimSpace(string(out)) != "ghcr.io/rempart-io/rempart:"+appVersion[1] {
		t.Errorf("make print-image = %q (%v), want the chart's appVersion", out, err)
	}
	dockerfile := read("Dockerfile")
	for _, want := range []string{"USER 65532:65532", `ENTRYPOINT ["/rempart"]`, "CGO_ENABLED=0"} {
		if !strings.Contains(dockerfile, want) {
			t.Errorf("the Dockerfile lacks %s: it must build the same image as make image", want)
		}
	}
}

// runImage loads the oci-archive into podman and runs `rempart --version` in it, where the
// machine has a container runtime (make test installs Debian's podman and runc). This sandbox
// refuses raising resource limits and has hybrid cgroups, hence runc and explicit low ulimits.
func runImage(t *testing.T, archive, ref string) {
	t.Helper()
	podman, err := exec.LookPath("podman")
	if err != nil {
		t.Log("no podman on this machine: the image is checked but not started (make test installs it)")
		return
	}
	runc, err := exec.LookPath("runc")
	if err != nil {
		t.Log("no runc on this machine: the image is checked but not started (make test installs it)")
		return
	}
	if out, err := exec.Command(podman, "load", "-i", archive).CombinedOutput(); err != nil {
		t.Fatalf("podman load: %v\n%s", err, out)
	}
	defer func() { _ = exec.Command(podman, "rmi", "-f", ref).Run() }()
	out, err := exec.Command(podman, "--runtime", runc, "run", "--rm", "--network=none",
		"--ulimit", "nofile=1024:1024", "--ulimit", "nproc=1024:1024", ref, "--version").CombinedOutput()
	if err != nil {
		t.Fatalf("podman run %s --version: %v\n%s", ref, err, out)
	}
	if got := strings.TrimSpace(string(out)); got != "dev" {
		t.Errorf("rempart --version in the image printed %q, want the version built in (dev)", got)
	}
	user, err := exec.Command(podman, "image", "inspect", "--format", "{{.Config.User}}", ref).Output()
	if err != nil || strings.TrimSpace(string(user)) != "65532:65532" {
		t.Errorf("podman sees user %q (%v), want 65532:65532", user, err)
	}
}
