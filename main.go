package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"net/http"
	"net/netip"
	"os"
	"runtime/debug"
	"strings"
	"time"

	"k8s.io/client-go/rest"
	"k8s.io/utils/clock"
	ctrl "sigs.k8s.io/controller-runtime"
	"sigs.k8s.io/controller-runtime/pkg/healthz"
	"sigs.k8s.io/controller-runtime/pkg/log/zap"
	metricsserver "sigs.k8s.io/controller-runtime/pkg/metrics/server"

	"github.com/rempart-io/rempart/controllers"
	"github.com/rempart-io/rempart/controllers/evidencelog"
	"github.com/rempart-io/rempart/controllers/metricsserving"
	"github.com/rempart-io/rempart/internal/evidence"
	"github.com/rempart-io/rempart/internal/version"
)

// config holds the command-line settings of the manager.
type config struct {
	metricsAddr    string
	metricsSecure  bool
	metricsCertDir string
	// metrics are the metrics server's options, derived from the three flags above.
	metrics                 metricsserver.Options
	probeAddr               string
	pprofAddr               string
	leaderElect             bool
	leaderElectionNamespace string
	breakGlassGroup         string
	leaseDuration           time.Duration
	renewDeadline           time.Duration
	retryPeriod             time.Duration
	qps                     float64
	burst                   int
	maxConcurrentReconciles int
	resyncPeriod            time.Duration
	shutdownTimeout         time.Duration
	serviceAccount          string
	adminMaxTemporary       time.Duration
	adminExtraRoles         []string
	platformAccounts        []string
	veleroNamespace         string
	policyReports           string
	clusterCIDRs            []string
	clusterDomain           string
	evidence                evidencelog.Config
	showVersion             bool
}

// splitList reads a comma-separated flag value, dropping blanks.
func splitList(v string) []string {
	var out []string
	for _, item := range strings.Split(v, ",") {
		if item = strings.TrimSpace(item); item != "" {
			out = append(out, item)
		}
	}
	return out
}

func parseFlags(args []string, zapOpts *zap.Options) (config, error) {
	var c config
	fs := flag.NewFlagSet("rempart", flag.ContinueOnError)
	fs.StringVar(&c.metricsAddr, "metrics-bind-address", ":8443", "Address the Prometheus metrics endpoint binds to; \"0\" disables it.")
	fs.BoolVar(&c.metricsSecure, "metrics-secure", true, "Serve metrics over HTTPS, each scrape authenticated and authorized by the API server (GET on the /metrics non-resource URL); false serves plain HTTP, on a loopback address only.")
	fs.StringVar(&c.metricsCertDir, "metrics-cert-dir", "", "Directory holding tls.crt and tls.key for the metrics endpoint (a cert-manager Secret, for instance); a self-signed certificate when empty.")
	fs.StringVar(&c.probeAddr, "health-probe-bind-address", ":8081", "Address the /healthz and /readyz endpoints bind to.")
	fs.StringVar(&c.pprofAddr, "pprof-bind-address", "0", "Address Go's /debug/pprof endpoints bind to, for profiling; \"0\" (the default) disables them.")
	fs.BoolVar(&c.leaderElect, "leader-elect", true, "Elect a leader so that only one replica reconciles at a time.")
	fs.StringVar(&c.leaderElectionNamespace, "leader-election-namespace", operatorNamespace(), "Namespace of the leader election lease; defaults to the operator's own namespace.")
	// A grant whose end falls while the leader is dead is revoked by a standby once the lease
	// lapses: at most lease duration plus retry period after the leader's last renewal.
	fs.DurationVar(&c.leaseDuration, "leader-lease-duration", 10*time.Second, "How long a standby waits after the leader's last renewal before taking over; bounds how late a grant may be revoked when the leader dies.")
	fs.DurationVar(&c.renewDeadline, "leader-renew-deadline", 7*time.Second, "How long the leader keeps trying to renew its lease before giving up leadership.")
	fs.DurationVar(&c.retryPeriod, "leader-retry-period", 2*time.Second, "How often replicas try to acquire or renew the lease.")
	fs.Float64Var(&c.qps, "kube-api-qps", 0, "Client-side queries per second to the API server; 0 turns client-side limiting off and relies on the server's API Priority and Fairness.")
	fs.IntVar(&c.burst, "kube-api-burst", 0, "Client-side burst of queries to the API server, with --kube-api-qps.")
	fs.IntVar(&c.maxConcurrentReconciles, "max-concurrent-reconciles", 4, "Reconciles each controller runs in parallel.")
	fs.DurationVar(&c.resyncPeriod, "resync-period", 10*time.Minute, "Safety-net period after which every policy is re-evaluated; deadlines are handled to the second without it.")
	fs.DurationVar(&c.shutdownTimeout, "graceful-shutdown-timeout", 30*time.Second, "How long running reconciles may take to finish on shutdown.")
	fs.StringVar(&c.serviceAccount, "service-account", os.Getenv("SERVICE_ACCOUNT_NAME"), "Name of the operator's service account, exempted by the admission policies that protect generated objects; defaults to $SERVICE_ACCOUNT_NAME or \"rempart\".")
	fs.DurationVar(&c.adminMaxTemporary, "admin-max-temporary", 24*time.Hour, "Longest temporary AdminAccess grant; standing grants last up to 366 days with a yearly review.")
	fs.Func("admin-extra-roles", "Comma-separated ClusterRoles AdminAccess may grant besides admin, edit and view (the operator needs bind on them).", func(v string) error {
		c.adminExtraRoles = splitList(v)
		return nil
	})
	fs.Func("platform-accounts", "Comma-separated usernames of the platform's own accounts (such as system:serviceaccount:argocd:argocd-application-controller) that may hold and bind admin-level rights in tenant namespaces without an AdminAccess.", func(v string) error {
		c.platformAccounts = splitList(v)
		return nil
	})
	fs.Func("cluster-cidrs", "Comma-separated pod and service networks of the cluster, which a tenant's own NetworkPolicy may not reach by ipBlock; defaults to every private range.", func(v string) error {
		c.clusterCIDRs = splitList(v)
		for _, cidr := range c.clusterCIDRs {
			if _, err := netip.ParsePrefix(cidr); err != nil {
				return fmt.Errorf("%q is not a CIDR", cidr)
			}
		}
		return nil
	})
	fs.StringVar(&c.breakGlassGroup, "break-glass-group", "rempart:break-glass", "Group whose members may change what Rempart manages in an emergency, and ask for a break-glass AdminAccess for themselves (still approved by another person).")
	fs.StringVar(&c.clusterDomain, "cluster-domain", "cluster.local", "The cluster's DNS domain: an ExternalName Service may never point inside it.")
	fs.StringVar(&c.veleroNamespace, "velero-namespace", "velero", "Namespace Velero runs in, where BackupPolicy creates its Schedules, Backups and Restores.")
	fs.StringVar(&c.policyReports, "policy-reports", "auto", "Write a report of the controls in each tenant namespace: an openreports.io Report where that CRD is served, else a wgpolicyk8s.io PolicyReport where that one is (auto), the same but failing without either (on), or none (off).")
	fs.StringVar(&c.evidence.S3.Bucket, "evidence-bucket", "", "S3 bucket of the evidence log, each tenant's signed compliance history (created with Object Lock for the entries to be locked); no evidence log when empty.")
	fs.StringVar(&c.evidence.S3.Prefix, "evidence-prefix", "rempart", "Prefix of the evidence log's objects in the bucket.")
	fs.StringVar(&c.evidence.S3.URL, "evidence-s3-url", "", "URL of an S3-compatible store holding the bucket (path-style requests); AWS S3 when empty.")
	fs.StringVar(&c.evidence.S3.Region, "evidence-region", "", "Region of the evidence bucket.")
	fs.StringVar(&c.evidence.S3.CredentialsFile, "evidence-credentials-file", "", "AWS shared credentials file for the evidence bucket (Velero's format, profile default), mounted from a Secret; the environment's credentials when empty.")
	fs.DurationVar(&c.evidence.S3.Retention, "evidence-retention", evidence.MinRetention, "How long each evidence entry is locked in compliance mode where the bucket has Object Lock; at least 8760h (12 months, FT-CLD-28).")
	fs.DurationVar(&c.evidence.SnapshotInterval, "evidence-snapshot-interval", 24*time.Hour, "Longest time between two entries of a tenant's evidence log while nothing changes; at most 24h.")
	fs.DurationVar(&c.evidence.Slack, "evidence-gap-after", 30*time.Minute, "Margin after a missed snapshot before the time without an entry counts as a gap in the record.")
	fs.DurationVar(&c.evidence.CheckInterval, "evidence-check-interval", time.Hour, "How often the stored evidence chain is read back and verified.")
	fs.BoolVar(&c.showVersion, "version", false, "Print the version and exit.")
	zapOpts.BindFlags(fs)
	if err := fs.Parse(args); err != nil {
		return c, err
	}
	switch {
	case c.qps < 0 || c.burst < 0:
		return c, errors.New("--kube-api-qps and --kube-api-burst cannot be negative")
	case c.qps > 0 && c.burst < 1:
		return c, errors.New("--kube-api-burst must be at least 1 when --kube-api-qps is set")
	case c.policyReports != "auto" && c.policyReports != "on" && c.policyReports != "off":
		return c, fmt.Errorf("--policy-reports must be auto, on or off, not %q", c.policyReports)
	case c.retryPeriod <= 0 || c.renewDeadline <= c.retryPeriod || c.leaseDuration <= c.renewDeadline:
		return c, errors.New("leader election needs --leader-retry-period < --leader-renew-deadline < --leader-lease-duration")
	case strings.TrimSpace(c.breakGlassGroup) == "" || strings.HasPrefix(c.breakGlassGroup, "system:"):
		return c, errors.New("--break-glass-group must name a group of people, not be empty nor a system: group")
	case c.maxConcurrentReconciles < 1:
		return c, errors.New("--max-concurrent-reconciles must be at least 1")
	case c.resyncPeriod < time.Minute:
		return c, errors.New("--resync-period must be at least one minute: it is a safety net, not the way deadlines are met")
	case c.adminMaxTemporary < time.Minute || c.adminMaxTemporary > 366*24*time.Hour:
		return c, errors.New("--admin-max-temporary must be between one minute and 366 days")
	case c.evidence.S3.Retention < evidence.MinRetention:
		return c, fmt.Errorf("--evidence-retention must be at least %s: FT-CLD-28 keeps security events 12 months", evidence.MinRetention)
	case c.evidence.SnapshotInterval <= 0 || c.evidence.SnapshotInterval > 24*time.Hour:
		return c, errors.New("--evidence-snapshot-interval must be more than zero and at most 24h: an entry at least daily")
	case c.evidence.Slack < 0 || c.evidence.CheckInterval < 10*time.Second:
		return c, errors.New("--evidence-gap-after cannot be negative and --evidence-check-interval must be at least 10s")
	case c.evidence.S3.Bucket == "" && (c.evidence.S3.URL != "" || c.evidence.S3.CredentialsFile != ""):
		return c, errors.New("--evidence-s3-url and --evidence-credentials-file need --evidence-bucket")
	}
	metrics, err := metricsserving.Options(c.metricsAddr, c.metricsSecure, c.metricsCertDir)
	if err != nil {
		return c, err
	}
	c.metrics = metrics
	if c.serviceAccount == "" {
		c.serviceAccount = "rempart"
	}
	return c, nil
}

// operatorNamespace is the namespace the operator runs in, read from the downward API
// (POD_NAMESPACE), then from the service account mount, then the conventional default.
func operatorNamespace() string {
	if ns := os.Getenv("POD_NAMESPACE"); ns != "" {
		return ns
	}
	if b, err := os.ReadFile("/var/run/secrets/kubernetes.io/serviceaccount/namespace"); err == nil && len(b) > 0 {
		return string(b)
	}
	return "rempart-system"
}

func main() {
	zapOpts := zap.Options{Development: false}
	cfg, err := parseFlags(os.Args[1:], &zapOpts)
	if errors.Is(err, flag.ErrHelp) {
		os.Exit(0)
	}
	if err != nil {
		fmt.Fprintln(os.Stderr, err)
		os.Exit(2)
	}
	if cfg.showVersion {
		fmt.Println(version.Version)
		return
	}
	ctrl.SetLogger(zap.New(zap.UseFlagOptions(&zapOpts)))
	setGCPercent(os.Getenv)
	if err := run(ctrl.SetupSignalHandler(), cfg); err != nil {
		ctrl.Log.Error(err, "operator stopped")
		os.Exit(1)
	}
}

func run(ctx context.Context, cfg config) error {
	log := ctrl.Log.WithName("setup")
	restConfig, err := ctrl.GetConfig()
	if err != nil {
		return fmt.Errorf("load kubeconfig: %w", err)
	}
	restConfig = rest.CopyConfig(restConfig)
	restConfig.QPS, restConfig.Burst = float32(cfg.qps), cfg.burst
	if cfg.qps == 0 {
		restConfig.QPS = -1 // no client-side limiter: API Priority and Fairness protects the server
	}
	restConfig.UserAgent = "rempart/" + version.Version

	resync := cfg.resyncPeriod
	mgr, err := ctrl.NewManager(restConfig, ctrl.Options{
		Scheme:                        controllers.NewScheme(),
		Metrics:                       cfg.metrics,
		HealthProbeBindAddress:        cfg.probeAddr,
		PprofBindAddress:              cfg.pprofAddr,
		LeaderElection:                cfg.leaderElect,
		LeaderElectionID:              "rempart.rempart.io",
		LeaderElectionNamespace:       cfg.leaderElectionNamespace,
		LeaderElectionReleaseOnCancel: true,
		LeaseDuration:                 &cfg.leaseDuration,
		RenewDeadline:                 &cfg.renewDeadline,
		RetryPeriod:                   &cfg.retryPeriod,
		GracefulShutdownTimeout:       &cfg.shutdownTimeout,
		Cache:                         controllers.CacheOptions(resync),
	})
	if err != nil {
		return fmt.Errorf("create manager: %w", err)
	}

	opts := controllers.Options{
		MaxConcurrentReconciles: cfg.maxConcurrentReconciles,
		ResyncPeriod:            cfg.resyncPeriod,
		OperatorNamespace:       cfg.leaderElectionNamespace,
		OperatorServiceAccount:  fmt.Sprintf("system:serviceaccount:%s:%s", cfg.leaderElectionNamespace, cfg.serviceAccount),
		AdminMaxTemporary:       cfg.adminMaxTemporary,
		AdminExtraRoles:         cfg.adminExtraRoles,
		PlatformAccounts:        cfg.platformAccounts,
		BreakGlassGroup:         cfg.breakGlassGroup,
		VeleroNamespace:         cfg.veleroNamespace,
		PolicyReports:           cfg.policyReports,
		ClusterCIDRs:            cfg.clusterCIDRs,
		Evidence:                cfg.evidence,
		ClusterDomain:           cfg.clusterDomain,
		Clock:                   clock.RealClock{},
	}
	if err := controllers.SetupAll(mgr, opts); err != nil {
		return err
	}

	if err := mgr.AddHealthzCheck("ping", healthz.Ping); err != nil {
		return fmt.Errorf("add healthz check: %w", err)
	}
	if err := mgr.AddReadyzCheck("informers", cacheSynced(mgr)); err != nil {
		return fmt.Errorf("add readyz check: %w", err)
	}

	log.Info("starting operator", "version", version.Version, "leaderElection", cfg.leaderElect,
		"namespace", cfg.leaderElectionNamespace, "controllers", len(controllers.All))
	if err := mgr.Start(ctx); err != nil {
		return fmt.Errorf("run manager: %w", err)
	}
	return nil
}

// cacheSynced reports ready only once the informers have synced, so a rolling update does not
// route to a replica that would evaluate controls on an empty cache.
func cacheSynced(mgr ctrl.Manager) healthz.Checker {
	return func(req *http.Request) error {
		ctx, cancel := context.WithTimeout(req.Context(), time.Second)
		defer cancel()
		if !mgr.GetCache().WaitForCacheSync(ctx) {
			return errors.New("informer caches have not synced yet")
		}
		return nil
	}
}

// defaultGCPercent is the heap growth between collections unless GOGC says otherwise: half the
// live heap rather than Go's default of all of it. Most of the operator's garbage comes in bursts
// (a thousand tenants created at once), and an operator shares its node with the workloads it
// guards: at 1,000 tenants this keeps the peak resident memory near 135 MiB instead of 175-200,
// for a few percent more CPU in collections (make bench measures both).
const defaultGCPercent = 50

// setGCPercent applies defaultGCPercent when GOGC is not set.
func setGCPercent(getenv func(string) string) {
	if getenv("GOGC") == "" {
		debug.SetGCPercent(defaultGCPercent)
	}
}
