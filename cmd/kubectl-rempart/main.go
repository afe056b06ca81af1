package main

import (
	"context"
	"errors"
	"fmt"
	"io"
	"os"
	"slices"
	"sort"
	"strings"
	"time"

	"github.com/spf13/pflag"
	authenticationv1 "k8s.io/api/authentication/v1"
	corev1 "k8s.io/api/core/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/runtime"
	utilruntime "k8s.io/apimachinery/pkg/util/runtime"
	"k8s.io/cli-runtime/pkg/genericclioptions"
	clientgoscheme "k8s.io/client-go/kubernetes/scheme"
	"sigs.k8s.io/controller-runtime/pkg/client"

	rempartv1 "github.com/rempart-io/rempart/api/v1alpha1"
	"github.com/rempart-io/rempart/internal/compliance"
	"github.com/rempart-io/rempart/internal/report"
	"github.com/rempart-io/rempart/internal/requirements"
)

// usageError is bad input: the exit code is 2, as for a wrong flag.
type usageError struct{ error }

// The commands, each with its synopsis: the overall usage is their list, and `--help` on a
// command prints its own with its flags.
var commands = []struct{ name, synopsis string }{
	{"report", `kubectl rempart report [--tenant NAME] [-o table|json|yaml|csv|md|html] [--stale-after 15m]
      the ComplianceReport of one tenant, or of all; html is one self-contained page; warns on
      stderr about policies not evaluated since --stale-after or behind their spec`},
	{"explain", `kubectl rempart explain CONTROL-ID
      what a control checks and which requirements it serves`},
	{"grant request", `kubectl rempart grant request --subject EMAIL --tenant NAME --reason TEXT --for DURATION [--role admin] [--name NAME]
      asks for an AdminAccess starting now; the API server records you as the requester`},
	{"grant approve", `kubectl rempart grant approve NAME
      approves it in your own name (you need the approve verb; never your own request or access)`},
	{"grant revoke", `kubectl rempart grant revoke NAME
      ends it at once, for good`},
	{"history", `kubectl rempart history --tenant NAME [--since DATE] [--requirement ID] [-o table|json]
      the tenant's compliance over time from its signed evidence log: per requirement, the
      intervals in each state, time to remediate, exceptions and their approver, access events,
      and the gaps nothing was recorded in`},
	{"evidence export", `kubectl rempart evidence export --tenant NAME --from DATE [--to DATE] -o bundle.tar.gz
      the period's signed entries, the public key and an HTML summary, for an auditor`},
	{"evidence verify", `kubectl rempart evidence verify bundle.tar.gz --key PUBLIC-KEY.pem
      offline: checks every signature and the chain, names any entry altered, missing or out of
      order, and exits 1 if one is`},
	{"completion", `kubectl rempart completion bash|zsh|kubectl
      prints a completion script: bash or zsh for kubectl-rempart, or kubectl for the
      kubectl_complete-rempart helper that completes "kubectl rempart ..."`},
}

var usage = func() string {
	var b strings.Builder
	b.WriteString("kubectl rempart: Rempart's evidence for auditors.\n\n")
	for _, c := range commands {
		b.WriteString("  " + c.synopsis + "\n")
	}
	b.WriteString("\nThe usual kubectl flags (--kubeconfig, --context, ...) apply. kubectl rempart COMMAND --help\nshows a command's flags.\n")
	return b.String()
}()

// synopsis is the usage of the commands whose name starts with name.
func synopsis(name string) string {
	var parts []string
	for _, c := range commands {
		if c.name == name || strings.HasPrefix(c.name, name+" ") {
			parts = append(parts, "  "+c.synopsis)
		}
	}
	return strings.Join(parts, "\n")
}

// parse parses a command's flags; --help prints its usage and flags to out and ends the command
// successfully (done), as kubectl does.
func parse(fs *pflag.FlagSet, args []string, name string, out io.Writer) (done bool, err error) {
	err = fs.Parse(args)
	if errors.Is(err, pflag.ErrHelp) {
		fmt.Fprintf(out, "Usage:\n%s\n\nFlags:\n%s", synopsis(name), fs.FlagUsages())
		return true, nil
	}
	if err != nil {
		return false, usageError{err}
	}
	return false, nil
}

func isHelp(arg string) bool { return arg == "-h" || arg == "--help" || arg == "help" }

func main() {
	err := run(context.Background(), os.Args[1:], os.Stdout)
	if err == nil {
		return
	}
	fmt.Fprintln(os.Stderr, "error:", err)
	var ue usageError
	if errors.As(err, &ue) {
		os.Exit(2)
	}
	os.Exit(1)
}

func run(ctx context.Context, args []string, out io.Writer) error {
	if len(args) == 0 || isHelp(args[0]) {
		fmt.Fprint(out, usage)
		return nil
	}
	cmd, args := args[0], args[1:]
	fs := pflag.NewFlagSet("kubectl rempart "+cmd, pflag.ContinueOnError)
	fs.SetOutput(io.Discard)
	kube := genericclioptions.NewConfigFlags(true)
	kube.AddFlags(fs)
	switch cmd {
	case "report":
		tenant := fs.String("tenant", "", "the tenant (TenantIsolation name); all tenants when empty")
		format := fs.StringP("output", "o", "table", "table, json, yaml, csv, md or html")
		staleAfter := fs.Duration("stale-after", 15*time.Minute, "warn when a policy was last evaluated longer ago than this (the operator's resync period, 10m by default, plus a margin)")
		if done, err := parse(fs, args, cmd, out); done || err != nil {
			return err
		}
		staleLimit = *staleAfter
		if !slices.Contains(report.Formats, *format) {
			return usageError{fmt.Errorf("unknown output format %q: use one of %s", *format, strings.Join(report.Formats, ", "))}
		}
		c, server, err := connect(kube)
		if err != nil {
			return err
		}
		return reportCmd(ctx, c, server, *tenant, *format, out)
	case "explain":
		if done, err := parse(fs, args, cmd, out); done || err != nil {
			return err
		}
		if fs.NArg() != 1 {
			return usageError{errors.New("explain takes one control ID, such as backup.rpo")}
		}
		return explain(fs.Arg(0), out)
	case "grant":
		return grantCmd(ctx, fs, kube, args, out)
	case "history":
		return historyCmd(ctx, fs, kube, args, out)
	case "evidence":
		return evidenceCmd(ctx, fs, kube, args, out)
	case "completion":
		return completionCmd(args, out)
	case completeCommand:
		complete(args, out)
		return nil
	}
	return usageError{fmt.Errorf("unknown command %q: use report, explain, grant, history, evidence or completion", cmd)}
}

func scheme() *runtime.Scheme {
	s := runtime.NewScheme()
	utilruntime.Must(clientgoscheme.AddToScheme(s))
	utilruntime.Must(rempartv1.AddToScheme(s))
	return s
}

func connect(kube *genericclioptions.ConfigFlags) (client.Client, string, error) {
	cfg, err := kube.ToRESTConfig()
	if err != nil {
		return nil, "", fmt.Errorf("kubeconfig: %w", err)
	}
	c, err := client.New(cfg, client.Options{Scheme: scheme()})
	if err != nil {
		return nil, "", fmt.Errorf("connect to %s: %w", cfg.Host, err)
	}
	return c, cfg.Host, nil
}

func reportCmd(ctx context.Context, c client.Client, server, tenant, format string, out io.Writer) error {
	e := report.Export{Generated: time.Now(), Cluster: report.ClusterIdentity{Server: server}}
	var ns corev1.Namespace
	switch err := c.Get(ctx, client.ObjectKey{Name: "kube-system"}, &ns); {
	case err == nil:
		e.Cluster.UID = string(ns.UID)
	case apierrors.IsForbidden(err):
		e.Cluster.Note = "you may not read namespace kube-system, whose UID names the cluster; ask for get on it to identify the cluster in the report"
		fmt.Fprintln(warnings, "note: the report does not identify the cluster: "+e.Cluster.Note+".")
	default:
		e.Cluster.Note = "reading namespace kube-system failed: " + err.Error()
		fmt.Fprintln(warnings, "note: the report does not identify the cluster: "+e.Cluster.Note+".")
	}
	if tenant != "" {
		var r rempartv1.ComplianceReport
		if err := c.Get(ctx, client.ObjectKey{Name: tenant}, &r); err != nil {
			if apierrors.IsNotFound(err) {
				return fmt.Errorf("no ComplianceReport for tenant %q: Rempart writes one per TenantIsolation (kubectl get ti lists them)", tenant)
			}
			return fmt.Errorf("read the report of %s: %w", tenant, err)
		}
		e.Reports = []rempartv1.ComplianceReport{r}
	} else {
		var list rempartv1.ComplianceReportList
		if err := c.List(ctx, &list); err != nil {
			return fmt.Errorf("list reports: %w", err)
		}
		if len(list.Items) == 0 {
			return errors.New("no ComplianceReport in this cluster: is Rempart installed, with a TenantIsolation?")
		}
		e.Reports = list.Items
	}
	for _, w := range staleInputs(e.Reports, e.Generated, staleLimit) {
		fmt.Fprintln(warnings, "warning:", w)
	}
	return report.Render(out, format, e)
}

// staleLimit is the --stale-after of the report command.
var staleLimit = 15 * time.Minute

// warnings is where the report's warnings go: stderr, so that an export stays clean.
var warnings io.Writer = os.Stderr

// staleInputs says, once per policy, which inputs of the reports an auditor should not take as
// current: a status that describes an older generation of its spec, or that was last evaluated
// longer ago than limit (the operator may be down, or the policy stuck).
func staleInputs(reports []rempartv1.ComplianceReport, now time.Time, limit time.Duration) []string {
	seen := map[string]bool{}
	var out []string
	for _, r := range reports {
		for _, req := range r.Status.Requirements {
			for _, c := range req.Controls {
				key := c.Kind + "/" + c.Policy
				if seen[key] {
					continue
				}
				switch {
				case c.BehindSpec:
					out = append(out, fmt.Sprintf("%s %s: its status describes an older version of its spec; the operator has not evaluated the current one yet", c.Kind, c.Policy))
				case c.Evaluated == nil:
					out = append(out, fmt.Sprintf("%s %s: never evaluated", c.Kind, c.Policy))
				case now.Sub(c.Evaluated.Time) > limit:
					out = append(out, fmt.Sprintf("%s %s: last evaluated %s ago, at %s (is the operator running?)", c.Kind, c.Policy,
						now.Sub(c.Evaluated.Time).Round(time.Second), c.Evaluated.UTC().Format(time.RFC3339)))
				default:
					continue
				}
				seen[key] = true
			}
		}
	}
	sort.Strings(out)
	return out
}

func explain(id string, out io.Writer) error {
	c, ok := compliance.Lookup(id)
	if !ok {
		return usageError{fmt.Errorf("unknown control %q: the controls are %s", id, strings.Join(compliance.IDs(), ", "))}
	}
	fmt.Fprintf(out, "%s (%s)\n  %s\n\nRequirements:\n", c.ID, c.Kind, c.Checks)
	for _, rid := range c.Requirements {
		req, _ := requirements.Lookup(rid)
		fmt.Fprintf(out, "  %s (%s %s): %s\n", rid, req.Source, req.Section, req.Rule)
	}
	return nil
}

type grantFlags struct {
	subject, tenant, role, reason, name string
	duration                            time.Duration
}

func (g grantFlags) build(now time.Time) (*rempartv1.AdminAccess, error) {
	var missing []string
	for flag, v := range map[string]string{"--subject": g.subject, "--tenant": g.tenant, "--reason": g.reason} {
		if strings.TrimSpace(v) == "" {
			missing = append(missing, flag)
		}
	}
	if len(missing) > 0 {
		slices.Sort(missing)
		return nil, fmt.Errorf("grant request needs %s (PAS-12.2: nominative and justified)", strings.Join(missing, ", "))
	}
	if g.duration <= 0 {
		return nil, errors.New("--for must be a positive duration, such as 2h")
	}
	name := g.name
	if name == "" {
		local := strings.ToLower(strings.SplitN(g.subject, "@", 2)[0])
		name = strings.Trim(strings.Map(func(r rune) rune {
			if (r >= 'a' && r <= 'z') || (r >= '0' && r <= '9') {
				return r
			}
			return '-'
		}, local), "-") + "-" + now.UTC().Format("20060102-1504")
	}
	return &rempartv1.AdminAccess{
		ObjectMeta: metav1.ObjectMeta{Name: name},
		Spec: rempartv1.AdminAccessSpec{
			Subject:   rempartv1.AdminSubject{Name: g.subject},
			Tenants:   []rempartv1.TenantName{rempartv1.TenantName(g.tenant)},
			Role:      g.role,
			Reason:    g.reason,
			NotBefore: &metav1.Time{Time: now.Truncate(time.Second)},
			Expires:   metav1.NewTime(now.Add(g.duration).Truncate(time.Second)),
		},
	}, nil
}

// grantCmd requests, approves or revokes an AdminAccess. Every identity in the record is the API
// server's: the plugin never writes a requester, and approves only in the caller's own name.
func grantCmd(ctx context.Context, fs *pflag.FlagSet, kube *genericclioptions.ConfigFlags, args []string, out io.Writer) error {
	if len(args) > 0 && isHelp(args[0]) {
		fmt.Fprintf(out, "Usage:\n%s\n", synopsis("grant"))
		return nil
	}
	if len(args) == 0 || strings.HasPrefix(args[0], "-") {
		return usageError{errors.New("grant takes request, approve or revoke")}
	}
	sub, args := args[0], args[1:]
	switch sub {
	case "request":
		g := grantFlags{}
		fs.StringVar(&g.subject, "subject", "", "the person's username (an email)")
		fs.StringVar(&g.tenant, "tenant", "", "the tenant whose namespaces the grant covers")
		fs.StringVar(&g.role, "role", "admin", "admin, edit or view")
		fs.StringVar(&g.reason, "reason", "", "why: the incident or ticket")
		fs.DurationVar(&g.duration, "for", time.Hour, "how long, from now")
		fs.StringVar(&g.name, "name", "", "the AdminAccess name; derived from the subject when empty")
		if done, err := parse(fs, args, "grant "+sub, out); done || err != nil {
			return err
		}
		aa, err := g.build(time.Now())
		if err != nil {
			return usageError{err}
		}
		c, _, err := connect(kube)
		if err != nil {
			return err
		}
		if err := c.Create(ctx, aa); err != nil {
			return fmt.Errorf("create AdminAccess %s: %w", aa.Name, err)
		}
		fmt.Fprintf(out, "adminaccess.rempart.io/%s requested by %s: %s would be %s of %s until %s, once approved (kubectl rempart grant approve %s)\n",
			aa.Name, aa.Spec.RequestedBy, g.subject, g.role, g.tenant, aa.Spec.Expires.UTC().Format(time.RFC3339), aa.Name)
		return nil
	case "approve", "revoke":
		if done, err := parse(fs, args, "grant "+sub, out); done || err != nil {
			return err
		}
		if fs.NArg() != 1 {
			return usageError{fmt.Errorf("grant %s takes the AdminAccess name", sub)}
		}
		c, _, err := connect(kube)
		if err != nil {
			return err
		}
		var aa rempartv1.AdminAccess
		if err := c.Get(ctx, client.ObjectKey{Name: fs.Arg(0)}, &aa); err != nil {
			return fmt.Errorf("read AdminAccess %s: %w", fs.Arg(0), err)
		}
		if sub == "revoke" {
			return revoke(ctx, c, &aa, out)
		}
		return approve(ctx, c, &aa, out)
	}
	return usageError{fmt.Errorf("unknown grant command %q: use request, approve or revoke", sub)}
}

// whoami is the caller's username as the API server authenticates it.
func whoami(ctx context.Context, c client.Client) (string, error) {
	review := &authenticationv1.SelfSubjectReview{}
	if err := c.Create(ctx, review); err != nil {
		return "", fmt.Errorf("ask the API server who you are: %w", err)
	}
	return review.Status.UserInfo.Username, nil
}

// approve records the caller as the approver of exactly the spec they were shown: the write is
// refused if the grant changed since it was read.
func approve(ctx context.Context, c client.Client, aa *rempartv1.AdminAccess, out io.Writer) error {
	me, err := whoami(ctx, c)
	if err != nil {
		return err
	}
	switch {
	case aa.Spec.ApprovedBy != "":
		return fmt.Errorf("AdminAccess %s is already approved by %s", aa.Name, aa.Spec.ApprovedBy)
	case me == aa.Spec.RequestedBy:
		return fmt.Errorf("you (%s) requested AdminAccess %s: another person approves it (FT-CLD-16, PAS-12.2)", me, aa.Name)
	case me == aa.Spec.Subject.Name:
		return fmt.Errorf("you (%s) are the subject of AdminAccess %s: another person approves it (FT-CLD-16, PAS-12.2)", me, aa.Name)
	}
	scope := fmt.Sprintf("tenants %v, namespaces %v", aa.Spec.Tenants, aa.Spec.Namespaces)
	if aa.Spec.BreakGlass {
		scope = "the whole cluster (break-glass)"
	}
	fmt.Fprintf(out, "Approving %s: %s %s gets role %s on %s until %s, requested by %s, because %q.\n",
		aa.Name, aa.Spec.Subject.Kind, aa.Spec.Subject.Name, aa.Spec.Role, scope, aa.Spec.Expires.UTC().Format(time.RFC3339), aa.Spec.RequestedBy, aa.Spec.Reason)
	shown := aa.Generation
	for {
		patch := client.MergeFromWithOptions(aa.DeepCopy(), client.MergeFromWithOptimisticLock{})
		aa.Spec.ApprovedBy = me
		err := c.Patch(ctx, aa, patch)
		if err == nil {
			break
		}
		if !apierrors.IsConflict(err) {
			return fmt.Errorf("approve AdminAccess %s: %w", aa.Name, err)
		}
		// Metadata changes (the operator's finalizer) do not matter; a new spec does.
		if err := c.Get(ctx, client.ObjectKeyFromObject(aa), aa); err != nil {
			return fmt.Errorf("read AdminAccess %s: %w", aa.Name, err)
		}
		if aa.Generation != shown {
			return fmt.Errorf("AdminAccess %s changed while you were approving it: read it again and approve what it says now", aa.Name)
		}
	}
	fmt.Fprintf(out, "adminaccess.rempart.io/%s approved by %s\n", aa.Name, me)
	return nil
}

func revoke(ctx context.Context, c client.Client, aa *rempartv1.AdminAccess, out io.Writer) error {
	if aa.Spec.Revoked {
		fmt.Fprintf(out, "adminaccess.rempart.io/%s is already revoked\n", aa.Name)
		return nil
	}
	patch := client.MergeFrom(aa.DeepCopy())
	aa.Spec.Revoked = true
	if err := c.Patch(ctx, aa, patch); err != nil {
		return fmt.Errorf("revoke AdminAccess %s: %w", aa.Name, err)
	}
	fmt.Fprintf(out, "adminaccess.rempart.io/%s revoked: its bindings, and what its subject created with them, are removed now\n", aa.Name)
	return nil
}
