package main

import (
	"runtime/debug"
	"strings"
	"testing"
	"time"

	"sigs.k8s.io/controller-runtime/pkg/log/zap"
)

func TestParseFlagsDefaults(t *testing.T) {
	t.Setenv("POD_NAMESPACE", "platform-security")
	t.Setenv("SERVICE_ACCOUNT_NAME", "")
	cfg, err := parseFlags(nil, &zap.Options{})
	if err != nil {
		t.Fatal(err)
	}
	if !cfg.leaderElect {
		t.Error("leader election is off by default")
	}
	if cfg.leaderElectionNamespace != "platform-security" {
		t.Errorf("lease namespace = %q, want the operator's namespace from POD_NAMESPACE", cfg.leaderElectionNamespace)
	}
	if cfg.resyncPeriod != 10*time.Minute || cfg.maxConcurrentReconciles < 1 || cfg.qps != 0 {
		t.Errorf("unexpected defaults: %+v", cfg)
	}
	if cfg.metricsAddr != ":8443" || !cfg.metricsSecure {
		t.Errorf("metrics on %s (secure %v), want HTTPS with authentication on :8443", cfg.metricsAddr, cfg.metricsSecure)
	}
	if cfg.serviceAccount != "rempart" {
		t.Errorf("service account = %q, want rempart", cfg.serviceAccount)
	}
}

func TestParseFlagsRefusesBadValues(t *testing.T) {
	tests := map[string][]string{
		"zero concurrency":       {"--max-concurrent-reconciles=0"},
		"negative qps":           {"--kube-api-qps=-1"},
		"qps without burst":      {"--kube-api-qps=20", "--kube-api-burst=0"},
		"resync under 1 min":     {"--resync-period=10s"},
		"unknown flag":           {"--no-such-flag"},
		"malformed duration":     {"--resync-period=soon"},
		"plain metrics exposed":  {"--metrics-secure=false", "--metrics-bind-address=:8080"},
		"malformed leader bool":  {"--leader-elect=perhaps"},
		"policy reports maybe":   {"--policy-reports=maybe"},
		"renew after the lease":  {"--leader-lease-duration=5s", "--leader-renew-deadline=7s"},
		"retry after the renew":  {"--leader-retry-period=8s"},
		"evidence kept 6 months": {"--evidence-bucket=evidence", "--evidence-retention=4380h"},
		"no daily snapshot":      {"--evidence-snapshot-interval=48h"},
		"zero snapshot interval": {"--evidence-snapshot-interval=0s"},
		"negative gap margin":    {"--evidence-gap-after=-1m"},
		"check every second":     {"--evidence-check-interval=1s"},
		"store without bucket":   {"--evidence-s3-url=http://127.0.0.1:9000"},
	}
	for name, args := range tests {
		t.Run(name, func(t *testing.T) {
			if _, err := parseFlags(args, &zap.Options{}); err == nil {
				t.Errorf("parseFlags(%v) accepted a bad value", args)
			}
		})
	}
}

func TestParseFlagsOverrides(t *testing.T) {
	cfg, err := parseFlags([]string{"--leader-elect=false", "--leader-election-namespace=ops", "--max-concurrent-reconciles=8",
		"--resync-period=30m", "--kube-api-qps=20", "--kube-api-burst=40", "--service-account=guard"}, &zap.Options{})
	if err != nil {
		t.Fatal(err)
	}
	got := []string{cfg.leaderElectionNamespace, cfg.serviceAccount, cfg.resyncPeriod.String()}
	if cfg.leaderElect || cfg.maxConcurrentReconciles != 8 || cfg.qps != 20 || cfg.burst != 40 ||
		strings.Join(got, ",") != "ops,guard,30m0s" {
		t.Errorf("flags not applied: %+v", cfg)
	}
}

func TestParseFlagsAdminSettings(t *testing.T) {
	cfg, err := parseFlags([]string{"--admin-max-temporary=8h", "--admin-extra-roles=db-admin, ,mq-admin", "--platform-accounts=system:serviceaccount:argocd:argocd-application-controller"}, &zap.Options{})
	if err != nil {
		t.Fatal(err)
	}
	if cfg.adminMaxTemporary != 8*time.Hour || strings.Join(cfg.adminExtraRoles, "|") != "db-admin|mq-admin" || len(cfg.platformAccounts) != 1 {
		t.Errorf("admin settings: %v %v %v", cfg.adminMaxTemporary, cfg.adminExtraRoles, cfg.platformAccounts)
	}
	if _, err := parseFlags([]string{"--admin-max-temporary=0s"}, &zap.Options{}); err == nil {
		t.Error("a zero temporary grant length was accepted")
	}
}

// The operator collects garbage at half the live heap's growth unless GOGC says otherwise.
func TestGCPercentDefaultsUnlessGOGCIsSet(t *testing.T) {
	previous := debug.SetGCPercent(100)
	defer debug.SetGCPercent(previous)
	setGCPercent(func(string) string { return "" })
	if got := debug.SetGCPercent(100); got != defaultGCPercent {
		t.Errorf("GC percent without GOGC = %d, want %d", got, defaultGCPercent)
	}
	setGCPercent(func(k string) string {
		if k == "GOGC" {
			return "100"
		}
		return ""
	})
	if got := debug.SetGCPercent(100); got != 100 {
		t.Errorf("GC percent with GOGC=100 = %d, want it left at 100", got)
	}
}
