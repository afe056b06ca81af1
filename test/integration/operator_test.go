package integration

import (
	"context"
	"fmt"
	"os"
	"time"

	"go.uber.org/zap/zapcore"

	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/utils/clock"
	ctrl "sigs.k8s.io/controller-runtime"
	"sigs.k8s.io/controller-runtime/pkg/log/zap"
	metricsserver "sigs.k8s.io/controller-runtime/pkg/metrics/server"

	"github.com/rempart-io/rempart/controllers"
	"github.com/rempart-io/rempart/test/testenv"
)

const operatorNamespace = "rempart-system"

// operatorUser is the identity the admission policies exempt; the in-process manager runs as the
// envtest administrator, which they exempt too (system:masters).
const operatorUser = "system:serviceaccount:rempart-system:rempart"

// startOperator runs every controller in this process against the test API server, as the
// manager binary would, and returns a function stopping it.
func startOperator(env *testenv.Env) (func(), error) {
	ctrl.SetLogger(zap.New(zap.UseDevMode(true), zap.Level(zapLevel())))
	ctx := context.Background()
	ns := &corev1.Namespace{ObjectMeta: metav1.ObjectMeta{Name: operatorNamespace}}
	if err := env.Client.Create(ctx, ns); err != nil {
		return nil, fmt.Errorf("create operator namespace: %w", err)
	}
	resync := 10 * time.Minute
	mgr, err := ctrl.NewManager(env.Config, ctrl.Options{
		Scheme:  env.Scheme,
		Metrics: metricsserver.Options{BindAddress: "0"},
		Cache:   controllers.CacheOptions(resync),
	})
	if err != nil {
		return nil, err
	}
	if err := controllers.SetupAll(mgr, controllers.Options{
		MaxConcurrentReconciles: 4, ResyncPeriod: resync, OperatorNamespace: operatorNamespace,
		OperatorServiceAccount: operatorUser, Clock: clock.RealClock{},
		// envtest runs no controller-manager, so admin, edit and view get no aggregated rules:
		// grants under test use a role with rules of its own.
		AdminExtraRoles: []string{testAdminRole},
	}); err != nil {
		return nil, err
	}
	ctx, cancel := context.WithCancel(ctx)
	done := make(chan error, 1)
	go func() { done <- mgr.Start(ctx) }()
	if err := testenv.WaitForGrantGuards(ctx, env.Client); err != nil {
		cancel()
		return nil, err
	}
	return func() {
		cancel()
		if err := <-done; err != nil {
			fmt.Println("operator stopped with error:", err)
		}
	}, nil
}

// zapLevel keeps the operator quiet unless REMPART_TEST_VERBOSE is set.
func zapLevel() zapcore.Level {
	if os.Getenv("REMPART_TEST_VERBOSE") != "" {
		return zapcore.DebugLevel
	}
	return zapcore.ErrorLevel
}
