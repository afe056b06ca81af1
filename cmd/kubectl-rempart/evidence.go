package main

import (
	"bytes"
	"context"
	"crypto/ed25519"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"os"
	"regexp"
	"text/tabwriter"
	"time"

	"github.com/spf13/pflag"
	corev1 "k8s.io/api/core/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	"k8s.io/cli-runtime/pkg/genericclioptions"
	"sigs.k8s.io/controller-runtime/pkg/client"

	rempartv1 "github.com/rempart-io/rempart/api/v1alpha1"
	"github.com/rempart-io/rempart/internal/evidence"
	"github.com/rempart-io/rempart/internal/evidence/s3store"
)

// storeFlags locate a tenant's evidence log: a bucket (by default the one the operator
// publishes in its ConfigMap) or a local copy of it.
type storeFlags struct {
	namespace, bucket, prefix, url, region, credentials, dir, key *string
}

func addStoreFlags(fs *pflag.FlagSet) storeFlags {
	return storeFlags{
		namespace:   fs.String("operator-namespace", "rempart-system", "namespace of the operator, whose ConfigMap rempart-evidence names the bucket"),
		bucket:      fs.String("bucket", "", "the evidence bucket (default: the one the operator publishes)"),
		prefix:      fs.String("prefix", "", "prefix of the entries in the bucket (default: the published one)"),
		url:         fs.String("s3-url", "", "URL of the S3-compatible store (default: the published one)"),
		region:      fs.String("region", "", "region of the bucket (default: the published one)"),
		credentials: fs.String("credentials-file", "", "AWS shared credentials file with read access to the bucket; the environment's credentials when empty"),
		dir:         fs.String("dir", "", "read the entries from a local copy of the bucket's prefix instead (tenants/NAME/*.json)"),
		key:         fs.String("key", "", "PEM public key the entries must verify with (default: the one in the tenant's ComplianceReport)"),
	}
}

// tenantName is what a TenantIsolation may be called: anything else would leave the bucket's
// tenant folder.
var tenantName = regexp.MustCompile(`^[a-z0-9]([-a-z0-9]*[a-z0-9])?$`)

// open returns the store and the public key to verify the tenant's entries with.
func (f storeFlags) open(ctx context.Context, kube *genericclioptions.ConfigFlags, tenant string) (evidence.Store, ed25519.PublicKey, error) {
	if !tenantName.MatchString(tenant) {
		return nil, nil, usageError{fmt.Errorf("--tenant %q is not a tenant name", tenant)}
	}
	var published map[string]string
	var pemKey []byte
	if *f.key != "" {
		data, err := os.ReadFile(*f.key)
		if err != nil {
			return nil, nil, err
		}
		pemKey = data
	}
	needCluster := pemKey == nil || (*f.dir == "" && *f.bucket == "")
	if needCluster {
		c, _, err := connect(kube)
		if err != nil {
			return nil, nil, err
		}
		if pemKey == nil {
			var r rempartv1.ComplianceReport
			if err := c.Get(ctx, client.ObjectKey{Name: tenant}, &r); err != nil {
				return nil, nil, fmt.Errorf("read the public key from the ComplianceReport of %s (or give --key): %w", tenant, err)
			}
			if r.Status.Evidence == nil || r.Status.Evidence.PublicKey == "" {
				return nil, nil, fmt.Errorf("the ComplianceReport of %s publishes no evidence key: is the operator run with --evidence-bucket?", tenant)
			}
			pemKey = []byte(r.Status.Evidence.PublicKey)
		}
		if *f.dir == "" && *f.bucket == "" {
			var cm corev1.ConfigMap
			err := c.Get(ctx, client.ObjectKey{Namespace: *f.namespace, Name: evidence.ConfigMapName}, &cm)
			switch {
			case apierrors.IsForbidden(err) || apierrors.IsNotFound(err):
				return nil, nil, fmt.Errorf("cannot read ConfigMap %s/%s, which names the evidence bucket (%v): give --bucket, --s3-url and --region", *f.namespace, evidence.ConfigMapName, err)
			case err != nil:
				return nil, nil, err
			}
			published = cm.Data
		}
	}
	pub, err := evidence.ParsePublicKey(pemKey)
	if err != nil {
		return nil, nil, fmt.Errorf("public key: %w", err)
	}
	if *f.dir != "" {
		return evidence.DirStore{Dir: *f.dir}, pub, nil
	}
	pick := func(flag *string, field string) string {
		if *flag != "" {
			return *flag
		}
		return published[field]
	}
	store, err := s3store.New(ctx, s3store.Options{Bucket: pick(f.bucket, evidence.BucketField), Prefix: pick(f.prefix, evidence.PrefixField),
		URL: pick(f.url, evidence.URLField), Region: pick(f.region, evidence.RegionField), CredentialsFile: *f.credentials})
	if err != nil {
		return nil, nil, err
	}
	return store, pub, nil
}

// readLog reads and verifies a tenant's whole log.
func readLog(ctx context.Context, store evidence.Store, pub ed25519.PublicKey, tenant string) ([][]byte, []evidence.Entry, error) {
	raw, err := evidence.ReadAll(ctx, store, tenant, 0)
	if err != nil {
		return nil, nil, err
	}
	if len(raw) == 0 {
		return nil, nil, fmt.Errorf("no evidence entry for tenant %s in %s", tenant, store.Describe())
	}
	entries, problems := evidence.Verify(ctx, pub, raw)
	if len(problems) > 0 {
		return nil, nil, problemsError(problems)
	}
	return raw, entries, nil
}

func problemsError(problems []evidence.Problem) error {
	var b bytes.Buffer
	fmt.Fprintf(&b, "the evidence does not verify (%d problems):", len(problems))
	for _, p := range problems {
		if p.Index < 0 {
			fmt.Fprintf(&b, "\n  %s", p.What)
			continue
		}
		fmt.Fprintf(&b, "\n  %s", p)
	}
	return errors.New(b.String())
}

// parseDate reads 2026-01-31 (midnight UTC) or an RFC 3339 time.
func parseDate(v string) (time.Time, error) {
	if t, err := time.Parse(time.DateOnly, v); err == nil {
		return t, nil
	}
	t, err := time.Parse(time.RFC3339, v)
	if err != nil {
		return time.Time{}, usageError{fmt.Errorf("%q is neither a date (2026-01-31) nor an RFC 3339 time", v)}
	}
	return t, nil
}

func historyCmd(ctx context.Context, fs *pflag.FlagSet, kube *genericclioptions.ConfigFlags, args []string, out io.Writer) error {
	tenant := fs.String("tenant", "", "the tenant (TenantIsolation name)")
	since := fs.String("since", "", "start of the period, a date or an RFC 3339 time (default: the first entry)")
	requirement := fs.String("requirement", "", "one requirement ID, such as SIS-BACKUP (default: all)")
	format := fs.StringP("output", "o", "table", "table or json")
	sf := addStoreFlags(fs)
	if done, err := parse(fs, args, "history", out); done || err != nil {
		return err
	}
	if *format != "table" && *format != "json" {
		return usageError{fmt.Errorf("unknown output format %q: use table or json", *format)}
	}
	store, pub, err := sf.open(ctx, kube, *tenant)
	if err != nil {
		return err
	}
	_, entries, err := readLog(ctx, store, pub, *tenant)
	if err != nil {
		return err
	}
	from := entries[0].Time
	if *since != "" {
		if from, err = parseDate(*since); err != nil {
			return err
		}
	}
	h, err := evidence.BuildHistory(entries, from, time.Now().UTC(), *requirement)
	if err != nil {
		return err
	}
	if *requirement != "" && len(h.Requirements) == 0 {
		return fmt.Errorf("no entry of %s mentions requirement %s", *tenant, *requirement)
	}
	if *format == "json" {
		enc := json.NewEncoder(out)
		enc.SetIndent("", "  ")
		return enc.Encode(h)
	}
	printHistory(out, h, entries)
	return nil
}

func stamp(t time.Time) string { return t.UTC().Format("2006-01-02 15:04:05 UTC") }

func printHistory(out io.Writer, h evidence.History, entries []evidence.Entry) {
	fmt.Fprintf(out, "Tenant %s, %s to %s: %d entries, every signature and link verified.\n", h.Tenant, stamp(h.From), stamp(h.To), len(entries))
	fmt.Fprintln(out, "Time no entry covers is NotRecorded (the operator was not running or could not write), never Compliant.")
	tw := tabwriter.NewWriter(out, 2, 4, 2, ' ', 0)
	fmt.Fprintln(tw, "\nREQUIREMENT\tSTATE\tFROM\tTO\tDURATION")
	for _, r := range h.Requirements {
		for _, i := range r.Intervals {
			fmt.Fprintf(tw, "%s\t%s\t%s\t%s\t%s\n", r.ID, i.State, stamp(i.From), stamp(i.To), evidence.HumanDuration(i.Duration()))
		}
	}
	tw.Flush()
	fmt.Fprintln(out, "\nTime to remediate:")
	any := false
	for _, r := range h.Requirements {
		for _, m := range r.Remediations {
			any = true
			if m.Open {
				fmt.Fprintf(out, "  %s: NonCompliant since %s, not remediated (%s so far)\n", r.ID, stamp(m.From), evidence.HumanDuration(m.Took))
			} else {
				fmt.Fprintf(out, "  %s: NonCompliant at %s, Compliant after %s\n", r.ID, stamp(m.From), evidence.HumanDuration(m.Took))
			}
		}
	}
	if !any {
		fmt.Fprintln(out, "  no NonCompliant episode")
	}
	fmt.Fprintln(out, "\nExceptions (waivers):")
	for _, w := range h.Waivers {
		fmt.Fprintf(out, "  %s on %s, approved by %s until %s (%s), seen %s to %s\n", w.Control, w.Policy, w.ApprovedBy, stamp(w.Expires), w.Reason, stamp(w.From), stamp(w.To))
	}
	if len(h.Waivers) == 0 {
		fmt.Fprintln(out, "  none")
	}
	fmt.Fprintln(out, "\nAccess and exception events:")
	for _, e := range h.Events {
		fmt.Fprintf(out, "  %s  #%d  %s\n", stamp(e.Time), e.Sequence, e.Text)
	}
	if len(h.Events) == 0 {
		fmt.Fprintln(out, "  none")
	}
	fmt.Fprintln(out, "\nGaps (not recorded):")
	for _, g := range h.Gaps {
		fmt.Fprintf(out, "  %s to %s (%s)\n", stamp(g.From), stamp(g.To), evidence.HumanDuration(g.Duration()))
	}
	if len(h.Gaps) == 0 {
		fmt.Fprintln(out, "  none")
	}
}

func evidenceCmd(ctx context.Context, fs *pflag.FlagSet, kube *genericclioptions.ConfigFlags, args []string, out io.Writer) error {
	if len(args) == 0 || isHelp(args[0]) {
		fmt.Fprintf(out, "Usage:\n%s\n", synopsis("evidence"))
		return nil
	}
	switch args[0] {
	case "export":
		return exportCmd(ctx, fs, kube, args[1:], out)
	case "verify":
		return verifyCmd(ctx, fs, args[1:], out)
	}
	return usageError{fmt.Errorf("unknown evidence command %q: use export or verify", args[0])}
}

func exportCmd(ctx context.Context, fs *pflag.FlagSet, kube *genericclioptions.ConfigFlags, args []string, out io.Writer) error {
	tenant := fs.String("tenant", "", "the tenant (TenantIsolation name)")
	fromFlag := fs.String("from", "", "start of the period, a date or an RFC 3339 time")
	toFlag := fs.String("to", "", "end of the period (default: now)")
	output := fs.StringP("output", "o", "", "the bundle to write, such as bundle.tar.gz")
	sf := addStoreFlags(fs)
	if done, err := parse(fs, args, "evidence export", out); done || err != nil {
		return err
	}
	if *output == "" || *fromFlag == "" {
		return usageError{errors.New("evidence export needs --tenant, --from and -o FILE")}
	}
	from, err := parseDate(*fromFlag)
	if err != nil {
		return err
	}
	to := time.Now().UTC()
	if *toFlag != "" {
		if to, err = parseDate(*toFlag); err != nil {
			return err
		}
	}
	if !to.After(from) {
		return usageError{errors.New("--to must be after --from")}
	}
	store, pub, err := sf.open(ctx, kube, *tenant)
	if err != nil {
		return err
	}
	raw, entries, err := readLog(ctx, store, pub, *tenant)
	if err != nil {
		return err
	}
	// From the newest entry at or before the start (the state the period starts in) to the
	// last one before its end.
	first, last := 0, -1
	for i, e := range entries {
		if !e.Time.After(from) {
			first = i
		}
		if e.Time.Before(to) {
			last = i
		}
	}
	if last < first {
		return fmt.Errorf("no entry of %s falls in %s to %s", *tenant, stamp(from), stamp(to))
	}
	// A snapshot repeats an earlier entry's report: the bundle starts at that entry.
	if base := entries[first].Base; base != nil {
		for i, e := range entries[:first] {
			if e.Sequence == *base {
				first = i
			}
		}
	}
	pemKey, err := evidence.PublicKeyPEM(pub)
	if err != nil {
		return err
	}
	keyID, err := evidence.KeyID(pub)
	if err != nil {
		return err
	}
	m := evidence.Manifest{Tenant: *tenant, From: from, To: to, FirstSequence: entries[first].Sequence, Entries: last - first + 1,
		KeyID: keyID, Store: store.Describe(), Exported: time.Now().UTC()}
	summary, err := evidence.Summarize(m, entries[first:last+1])
	if err != nil {
		return err
	}
	var buf bytes.Buffer
	if err := evidence.WriteBundle(&buf, evidence.Bundle{Manifest: m, PublicKey: []byte(pemKey), Envelopes: raw[first : last+1], Summary: summary}); err != nil {
		return err
	}
	if err := os.WriteFile(*output, buf.Bytes(), 0o644); err != nil {
		return err
	}
	fmt.Fprintf(out, "wrote %s: %d entries of %s (sequences %d to %d), %s to %s, key %s\n", *output, m.Entries, *tenant,
		m.FirstSequence, m.FirstSequence+int64(m.Entries)-1, stamp(from), stamp(to), keyID)
	return nil
}

func verifyCmd(ctx context.Context, fs *pflag.FlagSet, args []string, out io.Writer) error {
	keyFile := fs.String("key", "", "the PEM public key the auditor holds (from the ComplianceReport or the operator's ConfigMap, obtained beforehand)")
	if done, err := parse(fs, args, "evidence verify", out); done || err != nil {
		return err
	}
	if fs.NArg() != 1 || *keyFile == "" {
		return usageError{errors.New("evidence verify takes one bundle and --key PUBLIC-KEY.pem")}
	}
	keyPEM, err := os.ReadFile(*keyFile)
	if err != nil {
		return err
	}
	pub, err := evidence.ParsePublicKey(keyPEM)
	if err != nil {
		return fmt.Errorf("--key: %w", err)
	}
	f, err := os.Open(fs.Arg(0))
	if err != nil {
		return err
	}
	defer f.Close()
	b, err := evidence.ReadBundle(f)
	if err != nil {
		return err
	}
	entries, problems := evidence.VerifyBundle(ctx, pub, b)
	if len(problems) == 0 {
		// The summary must say what the entries say.
		if want, err := evidence.Summarize(b.Manifest, entries); err != nil || !bytes.Equal(want, b.Summary) {
			problems = append(problems, evidence.Problem{Index: -1, Sequence: -1, What: "summary.html does not match the entries: it was edited or made from other entries"})
		}
	}
	if len(problems) > 0 {
		return problemsError(problems)
	}
	h, err := evidence.BuildHistory(entries, b.Manifest.From, b.Manifest.To, "")
	if err != nil {
		return err
	}
	fmt.Fprintf(out, "OK: %d entries of tenant %s (sequences %d to %d), %s to %s: every signature and link verifies with the key given.\n",
		len(entries), b.Manifest.Tenant, entries[0].Sequence, entries[len(entries)-1].Sequence, stamp(b.Manifest.From), stamp(b.Manifest.To))
	for _, g := range h.Gaps {
		fmt.Fprintf(out, "gap: nothing recorded from %s to %s (%s)\n", stamp(g.From), stamp(g.To), evidence.HumanDuration(g.Duration()))
	}
	return nil
}
