# Rempart's developer interface. `make help` lists the targets.

SHELL := /usr/bin/env bash
.SHELLFLAGS := -euo pipefail -c
.DEFAULT_GOAL := help

VERSION ?= $(shell git describe --tags --always --dirty 2>/dev/null || echo dev)
# The image's tag is the chart's appVersion, which kustomize's newTag repeats (a test keeps the
# three equal), so what `make image` builds is what the chart and kustomize deploy.
IMAGE_TAG := $(shell sed -n 's/^appVersion: "\(.*\)"/\1/p' charts/rempart/Chart.yaml)
IMG ?= ghcr.io/rempart-io/rempart:$(IMAGE_TAG)
LDFLAGS := -s -w -X github.com/rempart-io/rempart/internal/version.Version=$(VERSION)

BIN := $(CURDIR)/bin
TOOLS := $(BIN)/tools
# The pinned tool versions are read from the tool modules, so go.mod is the single place to bump them.
pinned = $(shell awk -v m=$(1) '($$1=="require" && $$2==m) {print $$3; exit} ($$1==m) {print $$2; exit}' $(2))
CONTROLLER_GEN_VERSION := $(call pinned,sigs.k8s.io/controller-tools,hack/tools/codegen/go.mod)
HELM_VERSION := $(call pinned,helm.sh/helm/v4,hack/tools/helm/go.mod)
CONTROLLER_GEN := $(TOOLS)/controller-gen-$(CONTROLLER_GEN_VERSION)
HELM := $(TOOLS)/helm-$(HELM_VERSION)
PROMETHEUS_VERSION := $(call pinned,github.com/prometheus/prometheus,hack/tools/prometheus/go.mod)
PROMTOOL := $(TOOLS)/promtool-$(PROMETHEUS_VERSION)
# Kyverno, the peer the benchmarks compare with (make bench-peers); not part of make test.
KYVERNO_VERSION := $(call pinned,github.com/kyverno/kyverno,hack/tools/kyverno/go.mod)
KYVERNO := $(TOOLS)/kyverno-$(KYVERNO_VERSION)
KYVERNO_BACKGROUND := $(TOOLS)/kyverno-background-controller-$(KYVERNO_VERSION)
CONTROLPLANE_DIR = $(shell bash hack/controlplane.sh --print-dir)

GO_TEST_FLAGS ?=
UNIT_PACKAGES = $(shell go list ./... | grep -vE '/test/(integration|e2e)(/|$$)')

##@ Everyday

.PHONY: help
help: ## List the targets.
	@awk 'BEGIN {FS = ":.*##"} /^[a-zA-Z_-]+:.*##/ {printf "  %-18s %s\n", $$1, $$2} /^##@/ {printf "\n%s\n", substr($$0, 5)}' $(MAKEFILE_LIST)

.PHONY: demo
demo: build controlplane ## Start the local control plane, install everything, run the operator, apply the samples, show the compliance table.
	go build -o $(BIN)/demo ./hack/demo
	$(BIN)/demo --root $(CURDIR) --operator $(BIN)/rempart --plugin $(BIN)/kubectl-rempart --controlplane $(CONTROLPLANE_DIR)

.PHONY: test
test: lint verify test-unit test-alerts test-integration test-e2e test-demo ## Everything CI runs: lint, generated-code check, unit, integration and end-to-end tests, the demo once.

##@ Build

.PHONY: build
build: ## Build the operator into bin/rempart and the kubectl plugin into bin/kubectl-rempart.
	CGO_ENABLED=0 go build -trimpath -ldflags "$(LDFLAGS)" -o $(BIN)/rempart .
	CGO_ENABLED=0 go build -trimpath -o $(BIN)/kubectl-rempart ./cmd/kubectl-rempart

.PHONY: controlplane
controlplane: ## Build (once, cached in bin/controlplane) kube-apiserver, controller-manager, scheduler, kubectl, etcd and kwok from pinned modules.
	@bash hack/controlplane.sh >/dev/null

.PHONY: tools
tools: $(CONTROLLER_GEN) $(HELM) ## Build the pinned code generator and Helm.

$(CONTROLLER_GEN):
	cd hack/tools/codegen && CGO_ENABLED=0 go build -trimpath -o $@ sigs.k8s.io/controller-tools/cmd/controller-gen

$(HELM):
	cd hack/tools/helm && CGO_ENABLED=0 go build -trimpath -o $@ helm.sh/helm/v4/cmd/helm

$(PROMTOOL):
	cd hack/tools/prometheus && CGO_ENABLED=0 go build -trimpath -o $@ github.com/prometheus/prometheus/cmd/promtool

.PHONY: kyverno
kyverno: $(KYVERNO) $(KYVERNO_BACKGROUND) ## Build Kyverno's admission and background controllers from the pinned module (about 5 minutes and 3 GiB once).

$(KYVERNO):
	cd hack/tools/kyverno && CGO_ENABLED=0 go build -trimpath -o $@ github.com/kyverno/kyverno/cmd/kyverno

$(KYVERNO_BACKGROUND):
	cd hack/tools/kyverno && CGO_ENABLED=0 go build -trimpath -o $@ github.com/kyverno/kyverno/cmd/background-controller

.PHONY: image
image: ## Build the operator's image as an OCI layout in bin/image (and bin/image.tar) without a container engine.
	CGO_ENABLED=0 GOOS=linux GOARCH=amd64 go build -trimpath -buildvcs=false -ldflags "$(LDFLAGS) -buildid=" -o $(BIN)/linux_amd64/rempart .
	go run ./hack/image --binary $(BIN)/linux_amd64/rempart --out $(BIN)/image --tag $(IMG) \
	  --version $(IMAGE_TAG) --revision "$$(git rev-parse HEAD 2>/dev/null || echo unknown)"
	@echo "bin/image is $(IMG) as an OCI layout: skopeo copy oci:bin/image docker://$(IMG), or podman load -i bin/image.tar"

.PHONY: print-image
print-image: ## Print the image reference make image and docker-build tag.
	@echo $(IMG)

.PHONY: docker-build
docker-build: ## Build the container image with Docker (elsewhere; the same content as make image).
	docker build --build-arg VERSION=$(IMAGE_TAG) --build-arg REVISION="$$(git rev-parse HEAD)" -t $(IMG) .

##@ Generated code

.PHONY: generate
generate: $(CONTROLLER_GEN) ## Generate deepcopy functions from the API types.
	$(CONTROLLER_GEN) object:headerFile=hack/boilerplate.go.txt paths=./api/... paths=./test/apitest/...

.PHONY: manifests
manifests: $(CONTROLLER_GEN) ## Generate CRDs and RBAC from markers, and copy the CRDs into the Helm chart.
	$(CONTROLLER_GEN) crd paths=./api/... output:crd:dir=config/crd/bases
	$(CONTROLLER_GEN) rbac:roleName=rempart-manager paths=./controllers/... output:rbac:dir=config/rbac
	$(CONTROLLER_GEN) crd paths=./test/apitest/... output:crd:dir=test/apitest/crd
	bash hack/sync-manifests.sh

.PHONY: verify
verify: $(CONTROLLER_GEN) ## Fail when a generated file is out of date.
	bash hack/verify-generated.sh "$(CONTROLLER_GEN)"

.PHONY: lint
lint: $(HELM) ## go vet and a gofmt check on every module, helm lint on the chart, no tracked file over 1 MiB.
	go vet ./...
	$(HELM) lint --strict charts/rempart
	@for m in hack/tools/*/; do if ls $$m*.go >/dev/null 2>&1; then (cd $$m && go vet ./...); fi; done
	@bad=$$(gofmt -l $$(git ls-files --cached --others --exclude-standard '*.go')); \
	  if [ -n "$$bad" ]; then echo "not gofmt-clean:"; echo "$$bad"; exit 1; fi
	@bash hack/check-file-sizes.sh

##@ Tests

.PHONY: test-alerts
test-alerts: $(PROMTOOL) ## Check the alerting rules and run their unit tests with Prometheus's promtool.
	$(PROMTOOL) check rules charts/rempart/files/prometheus-rules.yaml
	$(PROMTOOL) test rules config/prometheus/rules_test.yaml

.PHONY: test-unit
test-unit: podman ## Pure tests next to the code.
	go test $(GO_TEST_FLAGS) $(UNIT_PACKAGES)

.PHONY: test-integration
.PHONY: chromium
podman: ## Debian's podman and runc, for the test that starts the operator's image.
	bash hack/ensure-podman.sh

.PHONY: chromium
chromium: ## Debian's chromium, for the test that renders an exported report in a browser.
	bash hack/ensure-chromium.sh

test-integration: controlplane $(HELM) chromium ## Controllers and manifests against a real kube-apiserver and etcd (envtest).
	KUBEBUILDER_ASSETS=$(CONTROLPLANE_DIR) HELM=$(HELM) go test $(GO_TEST_FLAGS) -timeout 20m ./test/integration/...

.PHONY: test-e2e
test-e2e: build controlplane chromium ## The operator as its own process against the whole local control plane.
	REMPART_OPERATOR=$(BIN)/rempart REMPART_PLUGIN=$(BIN)/kubectl-rempart REMPART_CONTROLPLANE=$(CONTROLPLANE_DIR) go test $(GO_TEST_FLAGS) -timeout 20m -v -count=1 ./test/e2e/...

.PHONY: test-demo
test-demo: build controlplane ## Run the demo once, non-interactively, and check it printed the compliance table.
	go build -o $(BIN)/demo ./hack/demo
	DEMO_ONESHOT=1 $(BIN)/demo --root $(CURDIR) --operator $(BIN)/rempart --plugin $(BIN)/kubectl-rempart --controlplane $(CONTROLPLANE_DIR) | tee $(BIN)/demo.log
	grep -q '^==> Rempart compliance' $(BIN)/demo.log
	grep -q '^TENANT bank-production' $(BIN)/demo.log
	grep -q 'alice-inc-4242 approved by dpo@acme.example' $(BIN)/demo.log
	test ! -e .demo/ready

.PHONY: bench
bench: build controlplane ## Benchmarks against the real API server, each printed beside a bare-client baseline of the same run.
	KUBEBUILDER_ASSETS=$(CONTROLPLANE_DIR) REMPART_OPERATOR=$(BIN)/rempart go test -run '^$$' -bench . -skip '^BenchmarkPeers' -benchtime 1x -timeout 120m ./test/scale/...
	@$(MAKE) --no-print-directory bench-table

.PHONY: bench-peers
bench-peers: build controlplane kyverno ## The same jobs done by Rempart and by Kyverno (built from its module) against the same kind of API server, as ratios in one run.
	KUBEBUILDER_ASSETS=$(CONTROLPLANE_DIR) REMPART_OPERATOR=$(BIN)/rempart KYVERNO=$(KYVERNO) KYVERNO_BACKGROUND=$(KYVERNO_BACKGROUND) \
		go test -run '^$$' -bench '^BenchmarkPeers' -benchtime 1x -timeout 120m ./test/scale/...
	@$(MAKE) --no-print-directory bench-table

.PHONY: bench-table
bench-table: ## Print every result under bin/bench/ (the latest run of each scenario) as one Markdown table.
	go run ./hack/benchtable $(BIN)/bench
