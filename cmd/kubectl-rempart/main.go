// kubectl-rempart is the auditor's kubectl plugin: `kubectl rempart report` exports the
// ComplianceReports as evidence, `explain` says what a control checks, `grant` writes an
// AdminAccess for an incident. It uses the caller's kubeconfig, as kubectl does.
package main

import (
	"context"
	"errors"
	"fmt"
	"io"
	"os"
	"slices"
	"strings"
	"time"

	"github.com/spf13/pflag"
	corev1 "k8s.io/api/core/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/runtime"
	utilruntime "k8s.io/apimachinery/pkg/util/runtime"
	"k8s.io/cli-runtime/pkg/genericclioptions"
	clientgoscheme "k8s.io/client-go/kubernetes/scheme"
	"sigs.k8s.io/controller-runtime/pkg/client"

	rempartv1 "github.com/rempart-io/rempart/api/v1alpha1"
	"github.com/rempart-io/rempart/internal/controlcatalog"
	"github.com/rempart-io/rempart/internal/report"
	"github.com/rempart-io/rempart/internal/requirements"
)

// usageError is bad input: the exit code is 2, as for a wrong flag.
type usageError struct{ error }

const usage = `kubectl rempart: Rempart's evidence for auditors.

  kubectl rempart report [--tenant NAME] [-o table|json|yaml|csv|md|html]
      the ComplianceReport of one tenant, or of all; html is one self-contained page
  kubectl rempart explain CONTROL-ID
      what a control checks and which requirements it serves
  kubectl rempart grant --subject EMAIL --tenant NAME --reason TEXT --approved-by EMAIL --for DURATION [--role admin]
      an AdminAccess for an incident, starting now

The usual kubectl flags (--kubeconfig, --context, ...) apply.
`

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
	if len(args) == 0 || args[0] == "-h" || args[0] == "--help" || args[0] == "help" {
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
		if err := fs.Parse(args); err != nil {
			return usageError{err}
		}
		if !slices.Contains(report.Formats, *format) {
			return usageError{fmt.Errorf("unknown output format %q: use one of %s", *format, strings.Join(report.Formats, ", "))}
		}
		c, server, err := connect(kube)
		if err != nil {
			return err
		}
		return reportCmd(ctx, c, server, *tenant, *format, out)
	case "explain":
		if err := fs.Parse(args); err != nil {
			return usageError{err}
		}
		if fs.NArg() != 1 {
			return usageError{errors.New("explain takes one control ID, such as backup.rpo")}
		}
		return explain(fs.Arg(0), out)
	case "grant":
		g := grantFlags{}
		fs.StringVar(&g.subject, "subject", "", "the person's username (an email)")
		fs.StringVar(&g.tenant, "tenant", "", "the tenant whose namespaces the grant covers")
		fs.StringVar(&g.role, "role", "admin", "admin, edit or view")
		fs.StringVar(&g.reason, "reason", "", "why: the incident or ticket")
		fs.StringVar(&g.approvedBy, "approved-by", "", "who approved it")
		fs.DurationVar(&g.duration, "for", time.Hour, "how long, from now")
		fs.StringVar(&g.name, "name", "", "the AdminAccess name; derived from the subject when empty")
		if err := fs.Parse(args); err != nil {
			return usageError{err}
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
		fmt.Fprintf(out, "adminaccess.rempart.io/%s created: %s is %s of %s until %s\n", aa.Name, g.subject, g.role, g.tenant, aa.Spec.Expires.UTC().Format(time.RFC3339))
		return nil
	}
	return usageError{fmt.Errorf("unknown command %q: use report, explain or grant", cmd)}
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
	if err := c.Get(ctx, client.ObjectKey{Name: "kube-system"}, &ns); err == nil {
		e.Cluster.UID = string(ns.UID)
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
	return report.Render(out, format, e)
}

func explain(id string, out io.Writer) error {
	c, ok := controlcatalog.Lookup(id)
	if !ok {
		return usageError{fmt.Errorf("unknown control %q: the controls are %s", id, strings.Join(controlcatalog.IDs(), ", "))}
	}
	fmt.Fprintf(out, "%s (%s)\n  %s\n\nRequirements:\n", c.ID, c.Kind, c.Checks)
	for _, rid := range c.Requirements {
		req, _ := requirements.Lookup(rid)
		fmt.Fprintf(out, "  %s (%s %s): %s\n", rid, req.Source, req.Section, req.Rule)
	}
	return nil
}

type grantFlags struct {
	subject, tenant, role, reason, approvedBy, name string
	duration                                        time.Duration
}

func (g grantFlags) build(now time.Time) (*rempartv1.AdminAccess, error) {
	var missing []string
	for flag, v := range map[string]string{"--subject": g.subject, "--tenant": g.tenant, "--reason": g.reason, "--approved-by": g.approvedBy} {
		if strings.TrimSpace(v) == "" {
			missing = append(missing, flag)
		}
	}
	if len(missing) > 0 {
		slices.Sort(missing)
		return nil, fmt.Errorf("grant needs %s (PAS-12.2: nominative, approved, justified)", strings.Join(missing, ", "))
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
			Subject:    rempartv1.AdminSubject{Name: g.subject},
			Tenants:    []rempartv1.TenantName{rempartv1.TenantName(g.tenant)},
			Role:       g.role,
			Reason:     g.reason,
			ApprovedBy: g.approvedBy,
			NotBefore:  &metav1.Time{Time: now.Truncate(time.Second)},
			Expires:    metav1.NewTime(now.Add(g.duration).Truncate(time.Second)),
		},
	}, nil
}
