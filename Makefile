# pier: a Kubernetes operator for SFTP, FTP and FTPS endpoints.
#
# `make test` is the one command CI runs: it checks generated files, formatting, vet and lint, then runs every
# test against a real kube-apiserver + etcd (envtest). Tools are pinned here and installed into bin/ on first use.

# Tool versions (pinned; every one is known to download from the Go module proxy).
CONTROLLER_TOOLS_VERSION ?= v0.23.0
GOLANGCI_LINT_VERSION ?= v2.15.0
HELM_VERSION ?= v3.22.0
# The Kubernetes minor version helm assumes when no cluster is asked (helm template, lint, package), set at build time
# as helm's own release build does from its client-go (v0.37): a plain `go install` leaves it at 1.20, below the
# chart's kubeVersion, so `helm template` would refuse the chart.
HELM_K8S_MINOR ?= 37
# v5.8.3 needs Go 1.27; v5.8.2 is the newest kustomize that builds with Go 1.26.
KUSTOMIZE_VERSION ?= v5.8.2
ENVTEST_K8S_VERSION ?= 1.37.2
ENVTEST_ETCD_VERSION ?= 3.7.0

# Images the install paths refer to.
REGISTRY ?= ghcr.io/pier-dev
# The release version: the images' tag and the Helm chart's version and appVersion (written by hack/chartgen).
VERSION ?= 0.1.0

SHELL = /usr/bin/env bash -o pipefail
.SHELLFLAGS = -ec

LOCALBIN ?= $(CURDIR)/bin
CONTROLLER_GEN ?= $(LOCALBIN)/controller-gen-$(CONTROLLER_TOOLS_VERSION)
GOLANGCI_LINT ?= $(LOCALBIN)/golangci-lint-$(GOLANGCI_LINT_VERSION)
HELM ?= $(LOCALBIN)/helm-$(HELM_VERSION)-k8s1.$(HELM_K8S_MINOR)
KUSTOMIZE ?= $(LOCALBIN)/kustomize-$(KUSTOMIZE_VERSION)
export ENVTEST_K8S_VERSION ENVTEST_ETCD_VERSION

# Files controller-gen writes; verify-generated fails when they are not current.
GENERATED = api/v1alpha1/zz_generated.deepcopy.go config/crd/bases config/rbac/role.yaml
# Files hack/chartgen writes into the Helm chart from config/ and values.yaml.
GENERATED += charts/pier/Chart.yaml charts/pier/README.md charts/pier/templates/crds charts/pier/templates/_rbac_rules.tpl charts/pier/files
# Files make build-installer writes from config/ and REGISTRY/VERSION.
GENERATED += dist/install.yaml config/manager/kustomization.yaml

.PHONY: all
all: build

##@ General

.PHONY: help
help: ## Show the targets.
	@awk 'BEGIN {FS = ":.*##"; printf "Usage: make <target>\n"} /^[a-zA-Z_0-9-]+:.*?##/ { printf "  %-18s %s\n", $$1, $$2 } /^##@/ { printf "\n%s\n", substr($$0, 5) }' $(MAKEFILE_LIST)

##@ Development

.PHONY: manifests
manifests: $(CONTROLLER_GEN) ## Generate CRDs and RBAC from the API types and kubebuilder markers.
	$(CONTROLLER_GEN) rbac:roleName=manager-role crd paths="./..." output:crd:artifacts:config=config/crd/bases
	go run ./hack/chartgen -version $(VERSION)

.PHONY: generate
generate: $(CONTROLLER_GEN) ## Generate DeepCopy methods.
	$(CONTROLLER_GEN) object:headerFile="hack/boilerplate.go.txt" paths="./..."

.PHONY: verify-generated
verify-generated: $(CONTROLLER_GEN) ## Fail when generated files differ from what the API types produce.
	@sum() { { find $(GENERATED) -type f -exec sha256sum {} + 2>/dev/null || true; } | sort; }; \
	before=$$(sum); \
	$(MAKE) --no-print-directory -s manifests generate build-installer; \
	if [ "$$before" != "$$(sum)" ]; then \
	  echo "Generated files were out of date and have now been regenerated; review and commit them:"; \
	  git status --short -- $(GENERATED); exit 1; \
	fi

.PHONY: fmt
fmt: ## Format the code.
	go fmt ./...

.PHONY: vet
vet: ## Run go vet.
	go vet ./...
	cd test/monitoring && go vet ./...

.PHONY: lint
lint: $(GOLANGCI_LINT) ## Run golangci-lint (gofmt included).
	$(GOLANGCI_LINT) run
	cd test/monitoring && $(GOLANGCI_LINT) run --config ../../.golangci.yml

.PHONY: lint-fix
lint-fix: $(GOLANGCI_LINT) ## Run golangci-lint and apply its fixes.
	$(GOLANGCI_LINT) run --fix

.PHONY: envtest
envtest: ## Print the folder holding the envtest binaries, building them once if needed (see hack/setup-envtest.sh).
	@hack/setup-envtest.sh --with-controller-manager

.PHONY: test
test: verify-generated vet lint test-clients ## Run every test: envtest for the API, real clients for the server. What CI runs.
	KUBEBUILDER_ASSETS="$$(hack/setup-envtest.sh --with-controller-manager)" PIER_REQUIRE_CLIENTS=1 go test ./... -count=1 -coverprofile cover.out
	# The alerts' and dashboard's tests: a module of their own (test/monitoring/go.mod says why).
	cd test/monitoring && go test ./... -count=1

.PHONY: test-monitoring
test-monitoring: ## Only the alerts' and the Grafana dashboard's tests (test/monitoring): PromQL parses, metric names exist, alerts fire when they should.
	cd test/monitoring && go test ./... -count=1 -v

.PHONY: test-e2e
test-e2e: test-clients ## Only the end-to-end suite (test/e2e): local control plane, operator, pod, real clients.
	KUBEBUILDER_ASSETS="$$(hack/setup-envtest.sh --with-controller-manager)" PIER_REQUIRE_CLIENTS=1 go test ./test/e2e -count=1 -v

# The real node of hack/local-cluster.sh (docs/testing.md): its admin kubeconfig, and where its images are built.
NODE_KUBECONFIG ?= /var/lib/pier-node/kubeconfig
NODE_IMAGES_DIR ?= bin/node-images

.PHONY: test-e2e-node
test-e2e-node: test-clients $(HELM) ## The end-to-end suite on a real single-node Kubernetes on this machine (root; hack/local-cluster.sh), pier installed with dist/install.yaml, then with the chart.
	hack/local-cluster.sh up
	$(MAKE) --no-print-directory images IMAGE_PLATFORMS=linux/$$(go env GOARCH) IMAGES_DIR=$(NODE_IMAGES_DIR)
	hack/local-cluster.sh load $(NODE_IMAGES_DIR)/pier-manager-$(VERSION).tar $(NODE_IMAGES_DIR)/pier-server-$(VERSION).tar
	assets="$$(hack/setup-envtest.sh --with-node --with-kubectl)"; \
	for install in manifest helm; do \
	  echo "test-e2e-node: pier installed with $$install"; \
	  KUBECONFIG=$(NODE_KUBECONFIG) PIER_KUBECTL="$$assets/kubectl" PIER_E2E_TARGET=node PIER_E2E_INSTALL=$$install \
	    PIER_REQUIRE_CLIENTS=1 go test ./test/e2e -count=1 -v -timeout 30m || exit 1; \
	done
	$(MAKE) --no-print-directory test-local-cluster

.PHONY: test-local-cluster
test-local-cluster: ## Only hack/local-cluster.sh's own test (root): a pod on the node, then down, which must leave no process, bridge, iptables chain, mount or cgroup.
	hack/install-node-packages.sh
	PIER_NODE_CYCLE=1 PIER_NODE_BIN="$$(hack/setup-envtest.sh --with-node --with-kubectl)" \
	  go test ./hack/nodecluster -run TestUpDownLeavesNothing -count=1 -v -timeout 15m

.PHONY: test-scale
test-scale: ## Only the scale tests (PIER_SCALE_TESTS=1): 10,000 users on one endpoint, against envtest (about 4 minutes).
	KUBEBUILDER_ASSETS="$$(hack/setup-envtest.sh --with-controller-manager)" PIER_SCALE_TESTS=1 go test ./internal/controller -run 'TestTenThousandUsers' -count=1 -v -timeout 30m

.PHONY: test-demo
test-demo: test-clients ## Only make demo's own test (test/demo): runs make demo five times, ends it each way (Ctrl-C, SIGTERM, SIGHUP, SIGKILL), checks nothing is left.
	PIER_TEST_DEMO=1 PIER_REQUIRE_CLIENTS=1 go test ./test/demo -count=1 -v -timeout 30m

.PHONY: test-chart
test-chart: $(HELM) ## Only the Helm chart's tests (test/chart): lint, template, schema, dry-run against envtest.
	KUBEBUILDER_ASSETS="$$(hack/setup-envtest.sh)" go test ./test/chart -count=1 -v

# The chart's tests (test/chart) run $(HELM), which they find through the environment.
test: $(HELM)
export HELM

.PHONY: test-tenancy
test-tenancy: $(HELM) $(KUSTOMIZE) ## Only the install RBAC tests (test/tenancy): the manager with only the chart's or kustomize's permissions, cluster-wide and namespaced; the aggregated editor/viewer roles.
	KUBEBUILDER_ASSETS="$$(hack/setup-envtest.sh --with-controller-manager)" go test ./test/tenancy -count=1 -v

.PHONY: test-manifests
test-manifests: $(KUSTOMIZE) ## Only the install manifests' and GitOps tests (test/manifests, test/gitops) against envtest.
	KUBEBUILDER_ASSETS="$$(hack/setup-envtest.sh)" go test ./test/manifests ./test/gitops -count=1 -v

# The install manifests' tests (test/manifests) run $(KUSTOMIZE), which they find through the environment.
test: $(KUSTOMIZE)
export KUSTOMIZE

.PHONY: bench
bench: bench-dataplane bench-controlplane ## Both benchmarks below, one after the other (root, for the data plane). Writes bench/results/ and docs/performance.md.

.PHONY: bench-dataplane
bench-dataplane: build test-clients ## Data-plane benchmark against OpenSSH, vsftpd and SFTPGo (root; about 30 minutes; BENCH_SIZE=256M BENCH_ROUNDS=3 for a quick run).
	hack/install-bench-peers.sh
	sftpgo="$$(hack/build-sftpgo.sh)" || { echo "make bench: SFTPGo did not build; measuring without it" >&2; sftpgo=""; }; \
	  go build -o bin/bench ./bench && BENCH_SFTPGO="$$sftpgo" bin/bench

# The control-plane bench builds the manager itself (from the working tree, or from the revisions BENCH_CP_REVISION
# and BENCH_CP_BASELINE name), so it does not depend on build.
.PHONY: bench-controlplane
bench-controlplane: ## Control-plane benchmark: 1,000 endpoints / 10,000 users against envtest + kube-controller-manager, the manager as its own process (no root; about 40 minutes; BENCH_CP_QUICK=1 for 100 endpoints).
	go build -o bin/bench-controlplane ./bench/controlplane
	assets="$$(hack/setup-envtest.sh --with-controller-manager)"; KUBEBUILDER_ASSETS="$$assets" bin/bench-controlplane

.PHONY: test-clients
test-clients: ## Install the real clients the server tests drive (OpenSSH sftp/scp, sshpass, curl, lftp, rclone, python3) if missing.
	@hack/install-test-clients.sh

##@ Build

# What `pier-server version` prints, as in the images (hack/images, build/pier-server.Dockerfile).
SERVER_LDFLAGS = -X main.version=$(VERSION) -X main.commit=$(REVISION)

.PHONY: build
build: ## Build bin/manager and bin/pier-server (static, as in the images).
	CGO_ENABLED=0 go build -o bin/manager ./cmd/manager
	CGO_ENABLED=0 go build -ldflags "$(SERVER_LDFLAGS)" -o bin/pier-server ./cmd/pier-server

.PHONY: build-installer
build-installer: manifests $(KUSTOMIZE) ## Write dist/install.yaml (kubectl apply -f) from config/default, images $(REGISTRY)/pier-*:$(VERSION).
	cd config/manager && $(KUSTOMIZE) edit set image \
	  pier-manager=$(REGISTRY)/pier-manager:$(VERSION) pier-server=$(REGISTRY)/pier-server:$(VERSION)
	mkdir -p dist
	{ echo "# pier $(VERSION): generated by make build-installer from config/default; do not edit."; \
	  $(KUSTOMIZE) build config/default; } > dist/install.yaml.tmp
	mv dist/install.yaml.tmp dist/install.yaml

# The chart as Helm packages it, for `helm push dist/pier-$(VERSION).tgz oci://REGISTRY/charts` (docs/install.md).
.PHONY: helm-package
helm-package: manifests $(HELM) ## Package the Helm chart into dist/pier-$(VERSION).tgz, ready for helm push to an OCI registry.
	$(HELM) lint --strict charts/pier
	mkdir -p dist
	$(HELM) package charts/pier --destination dist

# `make images` writes dist/images/pier-manager-$(VERSION).tar and pier-server-$(VERSION).tar: multi-platform OCI
# archives built without Docker (hack/images, docs/images.md); build/*.Dockerfile build the same images with Docker.
IMAGE_PLATFORMS ?= linux/amd64,linux/arm64
# The revision label, and every timestamp in the images from the commit, so that a commit always gives the same digests.
REVISION ?= $(shell git rev-parse HEAD 2>/dev/null)
SOURCE_DATE_EPOCH ?= $(shell git log -1 --format=%ct 2>/dev/null || echo 0)

IMAGES_DIR ?= dist/images

.PHONY: images
images: ## Build the pier-manager and pier-server images (amd64 and arm64) as OCI archives in dist/images; no Docker needed.
	go run ./hack/images --registry $(REGISTRY) --version $(VERSION) --revision "$(REVISION)" \
	  --platforms $(IMAGE_PLATFORMS) --source-date-epoch $(SOURCE_DATE_EPOCH) --out $(IMAGES_DIR)

# The demo is built and exec'ed, not `go run`: go run does not pass SIGTERM on, and its exit status turned a
# Ctrl-C into "Error 1". With exec, the demo is make's own child, so make's SIGTERM reaches it, and it stops with
# make even when make is killed. DEMO_FLAGS passes flags to it (go run ./internal/localcluster/demo -h lists them).
DEMO_FLAGS ?=

.PHONY: demo
demo: build test-clients ## A working endpoint on this machine, no cluster needed: control plane, operator, samples, the pod; Ctrl-C stops it.
	go build -o bin/demo ./internal/localcluster/demo
	assets="$$(hack/setup-envtest.sh --with-controller-manager)"; KUBEBUILDER_ASSETS="$$assets" exec bin/demo $(DEMO_FLAGS)

.PHONY: run
run: manifests generate ## Run the manager against the cluster in ~/.kube/config.
	go run ./cmd/manager

##@ Tools

$(CONTROLLER_GEN):
	$(call go-install-tool,$(CONTROLLER_GEN),sigs.k8s.io/controller-tools/cmd/controller-gen,$(CONTROLLER_TOOLS_VERSION))

$(GOLANGCI_LINT):
	$(call go-install-tool,$(GOLANGCI_LINT),github.com/golangci/golangci-lint/v2/cmd/golangci-lint,$(GOLANGCI_LINT_VERSION))

.PHONY: helm
helm: $(HELM) ## Build the pinned helm into bin/ from its Go module (no release download).

# Not go-install-tool: helm needs the linker flags of its release build (see HELM_K8S_MINOR).
HELM_LDFLAGS = $(foreach pkg,chartutil lint/rules,-X helm.sh/helm/v3/pkg/$(pkg).k8sVersionMajor=1 \
  -X helm.sh/helm/v3/pkg/$(pkg).k8sVersionMinor=$(HELM_K8S_MINOR))
$(HELM):
	@[ -f "$@" ] || { \
	  set -e; echo "Installing helm.sh/helm/v3/cmd/helm@$(HELM_VERSION) into $(LOCALBIN)" >&2; \
	  mkdir -p $(LOCALBIN); tmp=$$(mktemp -d); \
	  GOBIN=$$tmp go install -ldflags "$(HELM_LDFLAGS)" helm.sh/helm/v3/cmd/helm@$(HELM_VERSION); \
	  mv "$$tmp/helm" "$@"; rmdir "$$tmp"; \
	}

.PHONY: kustomize
kustomize: $(KUSTOMIZE) ## Build the pinned kustomize into bin/ from its Go module and print its path.
	@echo $(KUSTOMIZE)

# Not go-install-tool: kustomize's package path ends in /v5, but the binary go install writes is named kustomize.
$(KUSTOMIZE):
	@[ -f "$@" ] || { \
	  set -e; echo "Installing sigs.k8s.io/kustomize/kustomize/v5@$(KUSTOMIZE_VERSION) into $(LOCALBIN)" >&2; \
	  mkdir -p $(LOCALBIN); tmp=$$(mktemp -d); \
	  GOBIN=$$tmp go install sigs.k8s.io/kustomize/kustomize/v5@$(KUSTOMIZE_VERSION); \
	  mv "$$tmp/kustomize" "$@"; rmdir "$$tmp"; \
	}

# go-install-tool installs package $(2) at version $(3) as the versioned binary $(1).
define go-install-tool
@[ -f "$(1)" ] || { \
  set -e; package=$(2)@$(3); echo "Installing $${package} into $(LOCALBIN)"; \
  mkdir -p $(LOCALBIN); rm -f "$(1)"; \
  GOBIN=$(LOCALBIN) go install $${package}; \
  mv "$(LOCALBIN)/$$(basename "$(2)")" "$(1)"; \
}
endef
