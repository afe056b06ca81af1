package integration

import (
	"context"
	"fmt"
	"os"
	"time"

	"go.uber.org/zap/zapcore"

	admissionv1 "k8s.io/api/admissionregistration/v1"
	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/util/wait"
	"k8s.io/utils/clock"
	ctrl "sigs.k8s.io/controller-runtime"
	"sigs.k8s.io/controller-runtime/pkg/client"
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
	if err := waitForGrantGuards(ctx, env); err != nil {
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

// waitForGrantGuards waits until the admission policies guarding AdminAccess have been in place
// long enough for the operator to trust grants created from now on, as on a real cluster where
// the operator runs before anyone asks for access.
func waitForGrantGuards(ctx context.Context, env *testenv.Env) error {
	var newest time.Time
	err := wait.PollUntilContextTimeout(ctx, 100*time.Millisecond, time.Minute, true, func(ctx context.Context) (bool, error) {
		newest = time.Time{}
		for _, obj := range []client.Object{
			&admissionv1.ValidatingAdmissionPolicy{ObjectMeta: metav1.ObjectMeta{Name: "rempart-admin-access-approval"}},
			&admissionv1.MutatingAdmissionPolicy{ObjectMeta: metav1.ObjectMeta{Name: "rempart-admin-access-requester"}},
			&admissionv1.MutatingAdmissionPolicyBinding{ObjectMeta: metav1.ObjectMeta{Name: "rempart-admin-access-requester"}},
			&admissionv1.MutatingAdmissionPolicy{ObjectMeta: metav1.ObjectMeta{Name: "rempart-creator-stamp"}},
		} {
			if err := env.Client.Get(ctx, client.ObjectKeyFromObject(obj), obj); err != nil {
				return false, nil
			}
			if obj.GetCreationTimestamp().After(newest) {
				newest = obj.GetCreationTimestamp().Time
			}
		}
		return true, nil
	})
	if err != nil {
		return fmt.Errorf("the AdminAccess admission policies were not put in place: %w", err)
	}
	time.Sleep(time.Until(newest.Add(4 * time.Second)))
	return nil
}

// zapLevel keeps the operator quiet unless REMPART_TEST_VERBOSE is set.
func zapLevel() zapcore.Level {
	if os.Getenv("REMPART_TEST_VERBOSE") != "" {
		return zapcore.DebugLevel
	}
	return zapcore.ErrorLevel
}
