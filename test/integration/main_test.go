// Package integration tests Rempart's API and manifests against a real kube-apiserver and etcd.
package integration

import (
	"fmt"
	"os"
	"testing"

	"github.com/rempart-io/rempart/test/testenv"
)

// env is the API server every test of the package shares.
var env *testenv.Env

func TestMain(m *testing.M) {
	var err error
	env, err = testenv.Start()
	if err != nil {
		fmt.Fprintln(os.Stderr, err)
		os.Exit(1)
	}
	stopOperator, err := startOperator(env)
	if err != nil {
		fmt.Fprintln(os.Stderr, err)
		_ = env.Stop()
		os.Exit(1)
	}
	code := m.Run()
	stopOperator()
	if err := env.Stop(); err != nil {
		fmt.Fprintln(os.Stderr, "stop test API server:", err)
	}
	os.Exit(code)
}
