package testenv

import (
	"fmt"
	"image"
	"image/png"
	"os"
	"os/exec"
	"path/filepath"
)

// Screenshot renders an HTML page offline in Debian's headless chromium (`make chromium` installs
// it) at the given window size and returns the picture, so tests check what a reader sees. When
// REMPART_KEEP_SCREENSHOT names a file, the picture is kept there.
func Screenshot(page []byte, width, height int) (image.Image, error) {
	browser, err := exec.LookPath("chromium")
	if err != nil {
		return nil, fmt.Errorf("chromium is not installed: run `make chromium` (hack/ensure-chromium.sh)")
	}
	dir, err := os.MkdirTemp("", "rempart-screenshot-")
	if err != nil {
		return nil, err
	}
	defer os.RemoveAll(dir)
	htmlPath, shot := filepath.Join(dir, "page.html"), filepath.Join(dir, "page.png")
	if err := os.WriteFile(htmlPath, page, 0o600); err != nil {
		return nil, err
	}
	cmd := exec.Command(browser, "--headless", "--no-sandbox", "--disable-gpu", "--hide-scrollbars", "--no-first-run",
		"--user-data-dir="+filepath.Join(dir, "profile"), fmt.Sprintf("--window-size=%d,%d", width, height), "--screenshot="+shot, "file://"+htmlPath)
	if out, err := cmd.CombinedOutput(); err != nil {
		return nil, fmt.Errorf("chromium: %v\n%s", err, out)
	}
	data, err := os.ReadFile(shot)
	if err != nil {
		return nil, fmt.Errorf("no screenshot: %w", err)
	}
	if keep := os.Getenv("REMPART_KEEP_SCREENSHOT"); keep != "" {
		_ = os.WriteFile(keep, data, 0o600)
	}
	f, err := os.Open(shot)
	if err != nil {
		return nil, err
	}
	defer f.Close()
	return png.Decode(f)
}
