package repo

import (
	"bytes"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
)

// scratchRepo makes a git repository holding hack/check-file-sizes.sh and returns its root.
func scratchRepo(t *testing.T) string {
	t.Helper()
	root := t.TempDir()
	script, err := os.ReadFile("../../hack/check-file-sizes.sh")
	if err != nil {
		t.Fatal(err)
	}
	if err := os.MkdirAll(filepath.Join(root, "hack"), 0o755); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(filepath.Join(root, "hack", "check-file-sizes.sh"), script, 0o755); err != nil {
		t.Fatal(err)
	}
	git(t, root, "init", "-q")
	return root
}

func git(t *testing.T, dir string, args ...string) {
	t.Helper()
	cmd := exec.Command("git", args...)
	cmd.Dir = dir
	if out, err := cmd.CombinedOutput(); err != nil {
		t.Fatalf("git %s: %v\n%s", strings.Join(args, " "), err, out)
	}
}

func checkSizes(t *testing.T, root string) (string, error) {
	t.Helper()
	cmd := exec.Command("bash", "hack/check-file-sizes.sh")
	cmd.Dir = root
	var out bytes.Buffer
	cmd.Stdout, cmd.Stderr = &out, &out
	err := cmd.Run()
	return out.String(), err
}

func TestFileSizeCheckRefusesFilesOverOneMiB(t *testing.T) {
	root := scratchRepo(t)
	if err := os.WriteFile(filepath.Join(root, "small.txt"), []byte("fine"), 0o644); err != nil {
		t.Fatal(err)
	}
	if out, err := checkSizes(t, root); err != nil {
		t.Fatalf("a repository of small files is refused: %v\n%s", err, out)
	}

	// Tracked or merely not ignored: both would land with the next commit.
	big := bytes.Repeat([]byte{0x7f}, 1024*1024+1)
	if err := os.WriteFile(filepath.Join(root, "kubectl-rempart"), big, 0o755); err != nil {
		t.Fatal(err)
	}
	out, err := checkSizes(t, root)
	if err == nil || !strings.Contains(out, "kubectl-rempart") {
		t.Fatalf("a 1 MiB + 1 byte file passes the check (err %v):\n%s", err, out)
	}
	git(t, root, "add", "kubectl-rempart")
	if out, err := checkSizes(t, root); err == nil {
		t.Fatalf("a tracked 1 MiB + 1 byte file passes the check:\n%s", out)
	}

	// An ignored file is not the repository's.
	git(t, root, "rm", "-q", "--cached", "kubectl-rempart")
	if err := os.WriteFile(filepath.Join(root, ".gitignore"), []byte("/kubectl-rempart\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	if out, err := checkSizes(t, root); err != nil {
		t.Fatalf("an ignored large file is refused: %v\n%s", err, out)
	}
}
