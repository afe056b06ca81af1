package repo

import (
	"archive/tar"
	"compress/gzip"
	"crypto/sha256"
	"encoding/hex"
	"io"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strings"
	"testing"

	"sigs.k8s.io/yaml"
)

// krewPlugin is the part of krew's Plugin manifest (krew.googlecontainertools.github.com/v1alpha2)
// that installs the plugin.
type krewPlugin struct {
	APIVersion string `json:"apiVersion"`
	Kind       string `json:"kind"`
	Metadata   struct {
		Name string `json:"name"`
	} `json:"metadata"`
	Spec struct {
		Version          string `json:"version"`
		Homepage         string `json:"homepage"`
		ShortDescription string `json:"shortDescription"`
		Description      string `json:"description"`
		Caveats          string `json:"caveats"`
		Platforms        []struct {
			Selector struct {
				MatchLabels map[string]string `json:"matchLabels"`
			} `json:"selector"`
			URI    string `json:"uri"`
			Sha256 string `json:"sha256"`
			Bin    string `json:"bin"`
			Files  []struct {
				From string `json:"from"`
				To   string `json:"to"`
			} `json:"files"`
		} `json:"platforms"`
	} `json:"spec"`
}

func readManifest(t *testing.T, path string) krewPlugin {
	t.Helper()
	raw, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	var p krewPlugin
	if err := yaml.UnmarshalStrict(raw, &p); err != nil {
		t.Fatalf("%s: %v", path, err)
	}
	return p
}

// The committed manifest is one krew accepts: every platform krew users run, each archive of
// this version with its checksum and the binary it holds.
func TestKrewManifestIsComplete(t *testing.T) {
	p := readManifest(t, "../../plugins/rempart.yaml")
	if p.APIVersion != "krew.googlecontainertools.github.com/v1alpha2" || p.Kind != "Plugin" || p.Metadata.Name != "rempart" {
		t.Errorf("not a krew Plugin named rempart: %s %s %s", p.APIVersion, p.Kind, p.Metadata.Name)
	}
	if !regexp.MustCompile(`^v\d+\.\d+\.\d+$`).MatchString(p.Spec.Version) || p.Spec.Homepage == "" || p.Spec.ShortDescription == "" || p.Spec.Description == "" {
		t.Errorf("incomplete spec: %+v", p.Spec)
	}
	want := map[string]bool{"linux/amd64": true, "linux/arm64": true, "darwin/amd64": true, "darwin/arm64": true, "windows/amd64": true}
	sha := regexp.MustCompile(`^[0-9a-f]{64}$`)
	for _, pl := range p.Spec.Platforms {
		os, arch := pl.Selector.MatchLabels["os"], pl.Selector.MatchLabels["arch"]
		delete(want, os+"/"+arch)
		bin := "kubectl-rempart"
		if os == "windows" {
			bin += ".exe"
		}
		archive := "/" + p.Spec.Version + "/kubectl-rempart_" + p.Spec.Version + "_" + os + "_" + arch + ".tar.gz"
		if !strings.HasSuffix(pl.URI, archive) || !sha.MatchString(pl.Sha256) || pl.Bin != bin ||
			len(pl.Files) != 1 || pl.Files[0].From != bin || pl.Files[0].To != "." {
			t.Errorf("platform %s/%s: %+v", os, arch, pl)
		}
	}
	if len(want) > 0 {
		t.Errorf("no archive for %v", want)
	}
}

// The release script's archives are reproducible and the manifest it writes names their
// checksums; the archive holds the plugin alone, and it runs.
func TestKrewArchivesAreReproducible(t *testing.T) {
	if _, err := exec.LookPath("go"); err != nil {
		t.Fatal("go is needed to build the plugin")
	}
	sums := make([]string, 2)
	var dir string
	for i := range sums {
		dir = t.TempDir()
		manifest := filepath.Join(dir, "rempart.yaml")
		cmd := exec.Command("bash", "../../hack/krew-manifest.sh", "v9.9.9", dir, manifest)
		cmd.Env = append(os.Environ(), "KREW_PLATFORMS=linux/amd64")
		if out, err := cmd.CombinedOutput(); err != nil {
			t.Fatalf("krew-manifest.sh: %v\n%s", err, out)
		}
		p := readManifest(t, manifest)
		if len(p.Spec.Platforms) != 1 {
			t.Fatalf("platforms %+v", p.Spec.Platforms)
		}
		archive := filepath.Join(dir, "kubectl-rempart_v9.9.9_linux_amd64.tar.gz")
		b, err := os.ReadFile(archive)
		if err != nil {
			t.Fatal(err)
		}
		sum := sha256.Sum256(b)
		sums[i] = hex.EncodeToString(sum[:])
		if p.Spec.Platforms[0].Sha256 != sums[i] {
			t.Errorf("manifest sha256 %s, archive %s", p.Spec.Platforms[0].Sha256, sums[i])
		}
	}
	if sums[0] != sums[1] {
		t.Errorf("two builds of the same commit differ: %s, %s", sums[0], sums[1])
	}

	f, err := os.Open(filepath.Join(dir, "kubectl-rempart_v9.9.9_linux_amd64.tar.gz"))
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	gz, err := gzip.NewReader(f)
	if err != nil {
		t.Fatal(err)
	}
	tr := tar.NewReader(gz)
	var names []string
	bin := filepath.Join(dir, "kubectl-rempart")
	for {
		h, err := tr.Next()
		if err == io.EOF {
			break
		}
		if err != nil {
			t.Fatal(err)
		}
		names = append(names, h.Name)
		out, err := os.OpenFile(bin, os.O_CREATE|os.O_WRONLY, 0o755)
		if err != nil {
			t.Fatal(err)
		}
		if _, err := io.Copy(out, tr); err != nil {
			t.Fatal(err)
		}
		out.Close()
	}
	if len(names) != 1 || names[0] != "kubectl-rempart" {
		t.Fatalf("archive holds %v, want the plugin alone", names)
	}
	if out, err := exec.Command(bin, "--help").CombinedOutput(); err != nil || !strings.Contains(string(out), "kubectl rempart report") {
		t.Errorf("the archived plugin does not run: %v\n%s", err, out)
	}
}
