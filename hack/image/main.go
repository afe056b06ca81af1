package main

import (
	"archive/tar"
	"bytes"
	"compress/gzip"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"flag"
	"fmt"
	"os"
	"path/filepath"
	"sort"
	"time"
)

// User is who the operator runs as: the conventional unprivileged "nonroot" ID.
const User = "65532:65532"

// epoch stamps every file and the image, so the same binary gives the same image.
var epoch = time.Unix(0, 0).UTC()

type descriptor struct {
	MediaType   string            `json:"mediaType"`
	Digest      string            `json:"digest"`
	Size        int64             `json:"size"`
	Annotations map[string]string `json:"annotations,omitempty"`
	Platform    *platform         `json:"platform,omitempty"`
}

type platform struct {
	Architecture string `json:"architecture"`
	OS           string `json:"os"`
}

type imageConfig struct {
	Created      time.Time `json:"created"`
	Architecture string    `json:"architecture"`
	OS           string    `json:"os"`
	Config       struct {
		User       string            `json:"User"`
		Entrypoint []string          `json:"Entrypoint"`
		Env        []string          `json:"Env,omitempty"`
		Labels     map[string]string `json:"Labels"`
	} `json:"config"`
	RootFS struct {
		Type    string   `json:"type"`
		DiffIDs []string `json:"diff_ids"`
	} `json:"rootfs"`
	History []struct {
		Created   time.Time `json:"created"`
		CreatedBy string    `json:"created_by"`
	} `json:"history"`
}

func main() {
	binary := flag.String("binary", "bin/linux_amd64/rempart", "the static operator binary")
	out := flag.String("out", "bin/image", "directory of the OCI image layout")
	tag := flag.String("tag", "ghcr.io/rempart-io/rempart:dev", "the image's full reference (org.opencontainers.image.ref.name), as podman load names it")
	version := flag.String("version", "dev", "org.opencontainers.image.version")
	revision := flag.String("revision", "", "org.opencontainers.image.revision: the commit")
	source := flag.String("source", "https://github.com/rempart-io/rempart", "org.opencontainers.image.source")
	licenses := flag.String("licenses", "NOASSERTION", "org.opencontainers.image.licenses (SPDX)")
	arch := flag.String("arch", "amd64", "the binary's architecture")
	flag.Parse()
	labels := map[string]string{
		"org.opencontainers.image.source":   *source,
		"org.opencontainers.image.version":  *version,
		"org.opencontainers.image.revision": *revision,
		"org.opencontainers.image.licenses": *licenses,
		"org.opencontainers.image.title":    "rempart",
	}
	if err := write(*binary, *out, *tag, *arch, labels); err != nil {
		fmt.Fprintln(os.Stderr, "image:", err)
		os.Exit(1)
	}
}

// write builds the layout in out and its oci-archive next to it (out + ".tar").
func write(binary, out, tag, arch string, labels map[string]string) error {
	bin, err := os.ReadFile(binary)
	if err != nil {
		return fmt.Errorf("read the binary: %w", err)
	}
	layer, diffID, err := layerOf(bin)
	if err != nil {
		return err
	}
	if err := os.RemoveAll(out); err != nil {
		return err
	}
	blobs := filepath.Join(out, "blobs", "sha256")
	if err := os.MkdirAll(blobs, 0o755); err != nil {
		return err
	}
	put := func(mediaType string, data []byte) (descriptor, error) {
		sum := sha256.Sum256(data)
		d := descriptor{MediaType: mediaType, Digest: "sha256:" + hex.EncodeToString(sum[:]), Size: int64(len(data))}
		return d, os.WriteFile(filepath.Join(blobs, hex.EncodeToString(sum[:])), data, 0o644)
	}
	layerDesc, err := put("application/vnd.oci.image.layer.v1.tar+gzip", layer)
	if err != nil {
		return err
	}
	var cfg imageConfig
	cfg.Created, cfg.Architecture, cfg.OS = epoch, arch, "linux"
	cfg.Config.User = User
	cfg.Config.Entrypoint = []string{"/rempart"}
	cfg.Config.Labels = labels
	cfg.RootFS.Type, cfg.RootFS.DiffIDs = "layers", []string{diffID}
	cfg.History = append(cfg.History, struct {
		Created   time.Time `json:"created"`
		CreatedBy string    `json:"created_by"`
	}{epoch, "hack/image: /rempart, the static operator binary"})
	cfgJSON, err := json.Marshal(cfg)
	if err != nil {
		return err
	}
	cfgDesc, err := put("application/vnd.oci.image.config.v1+json", cfgJSON)
	if err != nil {
		return err
	}
	manifest, err := json.Marshal(map[string]any{
		"schemaVersion": 2, "mediaType": "application/vnd.oci.image.manifest.v1+json",
		"config": cfgDesc, "layers": []descriptor{layerDesc}, "annotations": labels,
	})
	if err != nil {
		return err
	}
	manDesc, err := put("application/vnd.oci.image.manifest.v1+json", manifest)
	if err != nil {
		return err
	}
	manDesc.Annotations = map[string]string{"org.opencontainers.image.ref.name": tag}
	manDesc.Platform = &platform{Architecture: arch, OS: "linux"}
	index, err := json.Marshal(map[string]any{"schemaVersion": 2, "mediaType": "application/vnd.oci.image.index.v1+json", "manifests": []descriptor{manDesc}})
	if err != nil {
		return err
	}
	if err := os.WriteFile(filepath.Join(out, "index.json"), index, 0o644); err != nil {
		return err
	}
	if err := os.WriteFile(filepath.Join(out, "oci-layout"), []byte(`{"imageLayoutVersion":"1.0.0"}`), 0o644); err != nil {
		return err
	}
	return archive(out, out+".tar")
}

// layerOf is the image's only layer: the binary at /rempart, owned by root, executable by all.
func layerOf(bin []byte) (gz []byte, diffID string, err error) {
	var raw bytes.Buffer
	tw := tar.NewWriter(&raw)
	if err := tw.WriteHeader(&tar.Header{Name: "rempart", Mode: 0o755, Size: int64(len(bin)), ModTime: epoch, Typeflag: tar.TypeReg, Format: tar.FormatPAX}); err != nil {
		return nil, "", err
	}
	if _, err := tw.Write(bin); err != nil {
		return nil, "", err
	}
	if err := tw.Close(); err != nil {
		return nil, "", err
	}
	sum := sha256.Sum256(raw.Bytes())
	var buf bytes.Buffer
	zw := gzip.NewWriter(&buf)
	if _, err := zw.Write(raw.Bytes()); err != nil {
		return nil, "", err
	}
	if err := zw.Close(); err != nil {
		return nil, "", err
	}
	return buf.Bytes(), "sha256:" + hex.EncodeToString(sum[:]), nil
}

// archive tars the layout directory (an oci-archive), files in name order.
func archive(dir, path string) error {
	var files []string
	err := filepath.Walk(dir, func(p string, info os.FileInfo, err error) error {
		if err == nil && !info.IsDir() {
			files = append(files, p)
		}
		return err
	})
	if err != nil {
		return err
	}
	sort.Strings(files)
	f, err := os.Create(path)
	if err != nil {
		return err
	}
	defer f.Close()
	tw := tar.NewWriter(f)
	for _, p := range files {
		data, err := os.ReadFile(p)
		if err != nil {
			return err
		}
		rel, _ := filepath.Rel(dir, p)
		if err := tw.WriteHeader(&tar.Header{Name: filepath.ToSlash(rel), Mode: 0o644, Size: int64(len(data)), ModTime: epoch, Typeflag: tar.TypeReg}); err != nil {
			return err
		}
		if _, err := tw.Write(data); err != nil {
			return err
		}
	}
	return tw.Close()
}
