package restoretest

import (
	"archive/tar"
	"compress/gzip"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"path"
	"sort"
	"strings"

	rempartv1 "github.com/rempart-io/rempart/api/v1alpha1"
)

// item is one object a backup holds.
type item struct {
	// Resource is resource or resource.group, as Velero names its archive folders.
	Resource  string
	Namespace string
	Name      string
	Labels    map[string]string
}

// maxArchiveBytes bounds what is read of a backup archive: Kubernetes objects only, never volume
// data, so a tenant's archive is far smaller.
const maxArchiveBytes = 1 << 30

// readContents lists the objects of a Velero backup archive (a gzipped tar with
// resources/<resource>/[<version>/]namespaces/<namespace>/<name>.json or .../cluster/<name>.json),
// once each even when Velero stores several API versions of it.
func readContents(r io.Reader) ([]item, error) {
	gz, err := gzip.NewReader(io.LimitReader(r, maxArchiveBytes))
	if err != nil {
		return nil, fmt.Errorf("open backup archive: %w", err)
	}
	defer gz.Close()
	tr := tar.NewReader(gz)
	seen := map[string]bool{}
	var out []item
	for {
		h, err := tr.Next()
		if errors.Is(err, io.EOF) {
			break
		}
		if err != nil {
			return nil, fmt.Errorf("read backup archive: %w", err)
		}
		if h.Typeflag != tar.TypeReg {
			continue
		}
		it, ok := parseItemPath(h.Name)
		if !ok {
			continue
		}
		key := it.Resource + "/" + it.Namespace + "/" + it.Name
		if seen[key] {
			continue
		}
		var obj struct {
			Metadata struct {
				Labels map[string]string `json:"labels"`
			} `json:"metadata"`
		}
		if err := json.NewDecoder(tr).Decode(&obj); err != nil {
			return nil, fmt.Errorf("read %s in backup archive: %w", h.Name, err)
		}
		seen[key] = true
		it.Labels = obj.Metadata.Labels
		out = append(out, it)
	}
	sort.Slice(out, func(i, j int) bool {
		a, b := out[i], out[j]
		if a.Resource != b.Resource {
			return a.Resource < b.Resource
		}
		if a.Namespace != b.Namespace {
			return a.Namespace < b.Namespace
		}
		return a.Name < b.Name
	})
	return out, nil
}

func parseItemPath(p string) (item, bool) {
	parts := strings.Split(path.Clean(strings.TrimPrefix(p, "/")), "/")
	if len(parts) < 4 || parts[0] != "resources" || !strings.HasSuffix(parts[len(parts)-1], ".json") {
		return item{}, false
	}
	name := strings.TrimSuffix(parts[len(parts)-1], ".json")
	switch {
	// The resource folder may itself be "namespaces": the scope folder is at index 2 or 3.
	case len(parts) >= 5 && parts[len(parts)-3] == "namespaces":
		return item{Resource: parts[1], Namespace: parts[len(parts)-2], Name: name}, true
	case parts[len(parts)-2] == "cluster":
		return item{Resource: parts[1], Name: name}, true
	}
	return item{}, false
}

// notVerified are the kinds a restore test does not expect back: Velero never restores events;
// the sandbox runs no pods (its quota allows none, so no tenant code runs there); controllers
// rebuild endpoints, endpoint slices and replica sets from what they own.
var notVerified = map[string]bool{
	"events": true, "events.events.k8s.io": true, "pods": true, "endpoints": true,
	"endpointslices.discovery.k8s.io": true, "replicasets.apps": true,
}

// splitBySandbox separates the kinds a test verifies in the sandbox from those it verifies in the
// backup only (sandbox.go), the latter as finished checks.
func splitBySandbox(expected map[string][]item, includeVolumes bool) (inSandbox map[string][]item, backupOnly []rempartv1.ResourceCheck) {
	inSandbox = map[string][]item{}
	for res, items := range expected {
		if restoresInSandbox(res, includeVolumes) {
			inSandbox[res] = items
			continue
		}
		backupOnly = append(backupOnly, rempartv1.ResourceCheck{Resource: res, InBackup: int32(len(items)), VerifiedIn: verifiedInBackup})
	}
	return inSandbox, backupOnly
}

// expectedBack is what a restore test must find in the sandboxes, by resource: the namespaced
// objects of the tested namespaces, except the kinds not verified, the objects Rempart generates
// (the sandbox gets its own isolation, not a copy of the tenant's), and, when resources is not
// empty, the kinds it does not list.
func expectedBack(items []item, namespaces []string, resources []string) map[string][]item {
	tested := map[string]bool{}
	for _, ns := range namespaces {
		tested[ns] = true
	}
	only := map[string]bool{}
	for _, r := range resources {
		only[r] = true
	}
	out := map[string][]item{}
	for _, it := range items {
		switch {
		case it.Namespace == "" || !tested[it.Namespace]:
		case len(only) > 0 && !only[it.Resource]:
		case len(only) == 0 && notVerified[it.Resource]:
		case it.Labels[rempartv1.LabelManagedBy] == rempartv1.ManagedByValue:
		default:
			out[it.Resource] = append(out[it.Resource], it)
		}
	}
	return out
}

// compareRestored checks, per resource, that each expected object is in the sandbox its
// namespace maps to. present holds "resource/namespace/name" of the sandbox's objects.
func compareRestored(expected map[string][]item, sandboxOf map[string]string, present map[string]bool) (checks []rempartv1.ResourceCheck, missing int) {
	resources := make([]string, 0, len(expected))
	for r := range expected {
		resources = append(resources, r)
	}
	sort.Strings(resources)
	for _, r := range resources {
		c := rempartv1.ResourceCheck{Resource: r, InBackup: int32(len(expected[r])), VerifiedIn: verifiedInSandbox}
		for _, it := range expected[r] {
			if present[r+"/"+sandboxOf[it.Namespace]+"/"+it.Name] {
				c.Restored++
				continue
			}
			missing++
			if len(c.Missing) < 5 {
				c.Missing = append(c.Missing, it.Namespace+"/"+it.Name)
			}
		}
		checks = append(checks, c)
	}
	return checks, missing
}
