package restoretest

import (
	"archive/tar"
	"bytes"
	"compress/gzip"
	"strings"
	"testing"
)

func tarball(t *testing.T, files map[string]string) []byte {
	t.Helper()
	var buf bytes.Buffer
	gz := gzip.NewWriter(&buf)
	tw := tar.NewWriter(gz)
	for name, body := range files {
		if err := tw.WriteHeader(&tar.Header{Name: name, Mode: 0o644, Size: int64(len(body)), Typeflag: tar.TypeReg}); err != nil {
			t.Fatal(err)
		}
		if _, err := tw.Write([]byte(body)); err != nil {
			t.Fatal(err)
		}
	}
	if err := tw.Close(); err != nil {
		t.Fatal(err)
	}
	if err := gz.Close(); err != nil {
		t.Fatal(err)
	}
	return buf.Bytes()
}

func TestReadContentsListsEachObjectOnce(t *testing.T) {
	generated := `{"metadata":{"labels":{"app.kubernetes.io/managed-by":"rempart"}}}`
	data := tarball(t, map[string]string{
		"metadata/version": "1",
		"resources/configmaps/namespaces/shop/settings.json":                            `{"metadata":{"name":"settings"}}`,
		"resources/configmaps/v1-preferredversion/namespaces/shop/settings.json":        `{"metadata":{"name":"settings"}}`,
		"resources/deployments.apps/namespaces/shop/web.json":                           `{}`,
		"resources/networkpolicies.networking.k8s.io/namespaces/shop/default-deny.json": generated,
		"resources/namespaces/cluster/shop.json":                                        `{}`,
		"resources/persistentvolumes/v1-preferredversion/cluster/pv-1.json":             `{}`,
		"resources/secrets/namespaces/other/token.json":                                 `{}`,
		"resources/pods/namespaces/shop/web-1.json":                                     `{}`,
		"resources/configmaps/namespaces/shop/not-json.txt":                             `x`,
	})
	items, err := readContents(bytes.NewReader(data))
	if err != nil {
		t.Fatal(err)
	}
	var got []string
	for _, it := range items {
		got = append(got, it.Resource+"/"+it.Namespace+"/"+it.Name)
	}
	want := "configmaps/shop/settings deployments.apps/shop/web namespaces//shop networkpolicies.networking.k8s.io/shop/default-deny persistentvolumes//pv-1 pods/shop/web-1 secrets/other/token"
	if strings.Join(got, " ") != want {
		t.Errorf("items\n got %s\nwant %s", strings.Join(got, " "), want)
	}

	expected := expectedBack(items, []string{"shop"}, nil)
	if len(expected) != 2 || len(expected["configmaps"]) != 1 || len(expected["deployments.apps"]) != 1 {
		t.Errorf("expected back %v: cluster objects, other namespaces, pods and generated objects are not expected", expected)
	}
	only := expectedBack(items, []string{"shop"}, []string{"pods"})
	if len(only) != 1 || len(only["pods"]) != 1 {
		t.Errorf("with verify.resources=[pods]: %v", only)
	}

	checks, missing := compareRestored(expected, map[string]string{"shop": "sandbox"}, map[string]bool{"configmaps/sandbox/settings": true, "deployments.apps/shop/web": true})
	if missing != 1 || len(checks) != 2 || checks[1].Resource != "deployments.apps" || checks[1].Restored != 0 || checks[1].Missing[0] != "shop/web" {
		t.Errorf("a deployment found in the source namespace, not the sandbox, counts as back: %+v (%d missing)", checks, missing)
	}
}

func TestReadContentsRefusesWhatIsNotAnArchive(t *testing.T) {
	if _, err := readContents(strings.NewReader("<Error>AccessDenied</Error>")); err == nil {
		t.Error("an S3 error page was read as a backup")
	}
	bad := tarball(t, map[string]string{"resources/configmaps/namespaces/shop/a.json": "{not json"})
	if _, err := readContents(bytes.NewReader(bad)); err == nil {
		t.Error("a broken object was read")
	}
}
