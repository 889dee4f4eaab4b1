// Copyright 2026 The pier authors.
//
// Licensed under the Apache License, Version 2.0 (the "License");
// you may not use this file except in compliance with the License.
// You may obtain a copy of the License at
//
//     http://www.apache.org/licenses/LICENSE-2.0
//
// Unless required by applicable law or agreed to in writing, software
// distributed under the License is distributed on an "AS IS" BASIS,
// WITHOUT WARRANTIES OR CONDITIONS OF ANY KIND, either express or implied.
// See the License for the specific language governing permissions and
// limitations under the License.

package controller_test

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"net/http"
	"os"
	"strings"
	"sync"
	"testing"
	"time"

	corev1 "k8s.io/api/core/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	"k8s.io/apimachinery/pkg/api/meta"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/types"
	"k8s.io/client-go/rest"
	ctrl "sigs.k8s.io/controller-runtime"
	"sigs.k8s.io/controller-runtime/pkg/client"
	"sigs.k8s.io/controller-runtime/pkg/config"
	logf "sigs.k8s.io/controller-runtime/pkg/log"
	"sigs.k8s.io/controller-runtime/pkg/log/zap"
	metricsserver "sigs.k8s.io/controller-runtime/pkg/metrics/server"

	transferv1alpha1 "github.com/pier-dev/pier/api/v1alpha1"
	"github.com/pier-dev/pier/internal/controller"
	"github.com/pier-dev/pier/internal/controller/render"
	"github.com/pier-dev/pier/internal/localcluster/controlplane"
	"github.com/pier-dev/pier/internal/serverconfig"
	"github.com/pier-dev/pier/internal/testsupport/poll"

	"github.com/pier-dev/pier/internal/testsupport/syncbuffer"
)

const testImage = "example.test/pier-server:test"

var (
	env *controlplane.Env
	k8s client.Client
	// writes counts the API writes the manager makes, by "VERB path".
	writes = &writeCounter{counts: map[string]int{}}
	// secretReads counts the manager's reads of Secrets' contents (not of their metadata alone), by path.
	secretReads = &writeCounter{counts: map[string]int{}}
)

// TestMain runs a real kube-apiserver and etcd with pier's and cert-manager's CRDs, and the operator's manager
// against it, with the same cache and client options as cmd/manager.
func TestMain(m *testing.M) {
	logf.SetLogger(zap.New(zap.WriteTo(logOutput())))
	var err error
	env, err = controlplane.StartWith(controlplane.Options{
		CertManagerCRDs: true,
		// The garbage collector proves that deleting an endpoint or user deletes its children.
		KubeControllers: []string{"garbage-collector-controller", "persistentvolumeclaim-protection-controller"},
		// Endpoints may ask for IPv6 and dual-stack Services.
		DualStackServices: true,
	})
	if err != nil {
		fmt.Fprintln(os.Stderr, err)
		os.Exit(1)
	}
	k8s = env.Client
	if err := startManager(nil, 0); err != nil {
		fmt.Fprintln(os.Stderr, err)
		_ = env.Stop()
		os.Exit(1)
	}
	code := m.Run()
	if code != 0 {
		printErrors(managerLog)
	}
	if err := stopManager(); err != nil {
		fmt.Fprintln(os.Stderr, "manager:", err)
	}
	if err := env.Stop(); err != nil {
		fmt.Fprintln(os.Stderr, "stopping envtest:", err)
	}
	os.Exit(code)
}

// managerLog keeps the manager's log, printed when a test fails (or all along with PIER_TEST_VERBOSE).
var managerLog = &syncbuffer.Buffer{}

// logOutput is where the manager logs.
func logOutput() io.Writer {
	if os.Getenv("PIER_TEST_VERBOSE") != "" {
		return os.Stderr
	}
	return managerLog
}

// printErrors writes the manager's error lines, and why users were not served, to stderr, to explain a failed
// test.
func printErrors(log *syncbuffer.Buffer) {
	for _, line := range bytes.Split([]byte(log.String()), []byte("\n")) {
		if bytes.Contains(line, []byte(`"level":"error"`)) || bytes.Contains(line, []byte("does not serve")) {
			fmt.Fprintf(os.Stderr, "manager: %s\n", line)
		}
	}
}

// running is the manager the tests run against: stopManager stops it, startManager starts another.
var running struct {
	cancel context.CancelFunc
	done   chan error
	// namespaces are those it watches; none: all of them.
	namespaces []string
}

// startManager starts the operator's manager, watching the namespaces given or, without any, all of them, with
// workers reconciles at a time per controller (0: the operator's default).
func startManager(namespaces []string, workers int) error {
	cfg := rest.CopyConfig(env.Config)
	cfg.WrapTransport = func(rt http.RoundTripper) http.RoundTripper { return writes.wrap(rt) }
	opts, certManager, err := controller.ManagerOptions(cfg, ctrl.Options{
		Scheme:  env.Scheme,
		Metrics: metricsserver.Options{BindAddress: "0"},
		// A restarted manager registers the same controllers again.
		Controller: config.Controller{SkipNameValidation: new(true)},
	}, namespaces)
	if err != nil {
		return err
	}
	mgr, err := ctrl.NewManager(cfg, opts)
	if err != nil {
		return fmt.Errorf("creating the manager: %w", err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	if err := controller.Setup(ctx, mgr, controller.Options{ServerImage: testImage, CertManager: certManager,
		MaxConcurrentReconciles: workers}); err != nil {
		cancel()
		return fmt.Errorf("setting up the controllers: %w", err)
	}
	running.cancel, running.done, running.namespaces = cancel, make(chan error, 1), namespaces
	go func() { running.done <- mgr.Start(ctx) }()
	return nil
}

// stopManager stops the running manager and waits until it has stopped, then takes note of what its work queues
// left behind (see leftBehind).
func stopManager() error {
	running.cancel()
	err := <-running.done
	gauges, gatherErr := busyGauges()
	if gatherErr != nil {
		return errors.Join(err, gatherErr)
	}
	leftBehind = gauges
	return err
}

// restartManager stops the manager, runs whileStopped (when not nil), and starts a new manager that watches only
// namespace, as the operator starts after a restart: it remembers nothing but what the API server holds. Only
// namespace's objects are then reconciled, so the manager's metrics count them alone. The test's cleanup brings
// back a manager of all namespaces.
func restartManager(t *testing.T, namespace string, whileStopped func()) {
	t.Helper()
	restartManagerWith(t, namespace, 0, whileStopped)
}

// restartManagerWith is restartManager with workers reconciles at a time per controller (0: the default).
func restartManagerWith(t *testing.T, namespace string, workers int, whileStopped func()) {
	t.Helper()
	if len(running.namespaces) == 0 {
		t.Cleanup(func() {
			if err := stopManager(); err != nil {
				t.Errorf("stopping the manager of namespace %s: %v", namespace, err)
			}
			if err := startManager(nil, 0); err != nil {
				t.Fatalf("starting the manager again: %v", err)
			}
		})
	}
	if err := stopManager(); err != nil {
		t.Fatalf("stopping the manager: %v", err)
	}
	if whileStopped != nil {
		whileStopped()
	}
	if err := startManager([]string{namespace}, workers); err != nil {
		t.Fatalf("starting a manager: %v", err)
	}
}

// writeCounter counts the manager's write requests, to prove that a reconcile with nothing to do writes nothing.
type writeCounter struct {
	mu     sync.Mutex
	counts map[string]int
}

type countingTransport struct {
	next    http.RoundTripper
	counter *writeCounter
}

func (w *writeCounter) wrap(rt http.RoundTripper) http.RoundTripper {
	return &countingTransport{next: rt, counter: w}
}

func (t *countingTransport) RoundTrip(req *http.Request) (*http.Response, error) {
	switch req.Method {
	case http.MethodPost, http.MethodPut, http.MethodPatch, http.MethodDelete:
		t.counter.mu.Lock()
		t.counter.counts[req.Method+" "+req.URL.Path]++
		t.counter.mu.Unlock()
	case http.MethodGet:
		if strings.Contains(req.URL.Path, "/secrets/") && !strings.Contains(req.Header.Get("Accept"), "PartialObjectMetadata") {
			secretReads.mu.Lock()
			secretReads.counts[req.URL.Path]++
			secretReads.mu.Unlock()
		}
	}
	return t.next.RoundTrip(req)
}

// snapshot returns a copy of the counts.
func (w *writeCounter) snapshot() map[string]int {
	w.mu.Lock()
	defer w.mu.Unlock()
	out := make(map[string]int, len(w.counts))
	for k, v := range w.counts {
		out[k] = v
	}
	return out
}

// eventually retries check until it returns nil or wait passes, then fails the test with its last error.
func eventually(t *testing.T, check func() error) {
	t.Helper()
	poll.Until(t, "condition", wait, check)
}

const wait = 20 * time.Second

func get(t *testing.T, namespace, name string, obj client.Object) {
	t.Helper()
	eventually(t, func() error {
		return k8s.Get(context.Background(), types.NamespacedName{Namespace: namespace, Name: name}, obj)
	})
}

func create(t *testing.T, obj client.Object) {
	t.Helper()
	if err := k8s.Create(context.Background(), obj); err != nil {
		t.Fatalf("creating %T %s: %v", obj, obj.GetName(), err)
	}
}

// update re-reads obj, applies change and writes it, retrying on conflicts.
func update[T client.Object](t *testing.T, obj T, change func(T)) {
	t.Helper()
	eventually(t, func() error {
		if err := k8s.Get(context.Background(), client.ObjectKeyFromObject(obj), obj); err != nil {
			return err
		}
		change(obj)
		return k8s.Update(context.Background(), obj)
	})
}

func gone(t *testing.T, obj client.Object) {
	t.Helper()
	eventually(t, func() error {
		err := k8s.Get(context.Background(), client.ObjectKeyFromObject(obj), obj)
		if apierrors.IsNotFound(err) {
			return nil
		}
		if err != nil {
			return fmt.Errorf("reading %T %s: %w", obj, obj.GetName(), err)
		}
		return fmt.Errorf("%T %s still exists", obj, obj.GetName())
	})
}

// condition waits until the object's condition has the status and reason, and returns it.
func condition(t *testing.T, obj client.Object, condType string, status metav1.ConditionStatus, reason string) metav1.Condition {
	t.Helper()
	var found metav1.Condition
	eventually(t, func() error {
		if err := k8s.Get(context.Background(), client.ObjectKeyFromObject(obj), obj); err != nil {
			return err
		}
		var conds []metav1.Condition
		if o, ok := obj.(transferv1alpha1.Conditioned); ok {
			conds = o.GetConditions()
		}
		generation := obj.GetGeneration()
		c := meta.FindStatusCondition(conds, condType)
		if c == nil {
			return fmt.Errorf("no %s condition yet in %v", condType, conds)
		}
		if c.Status != status || (reason != "" && c.Reason != reason) || c.ObservedGeneration != generation {
			return fmt.Errorf("%s is %s/%s (observedGeneration %d of %d): %s", condType, c.Status, c.Reason,
				c.ObservedGeneration, generation, c.Message)
		}
		found = *c
		return nil
	})
	return found
}

// falseConditionSays waits until the object's condition is False with the reason, and a message that contains
// text.
func falseConditionSays(t *testing.T, obj client.Object, condType, reason, text string) {
	t.Helper()
	eventually(t, func() error {
		c := condition(t, obj, condType, metav1.ConditionFalse, reason)
		if !strings.Contains(c.Message, text) {
			return fmt.Errorf("%s: the message %q does not say %q", condType, c.Message, text)
		}
		return nil
	})
}

// servedConfig reads and parses the endpoint's config Secret.
func servedConfig(t *testing.T, te *transferv1alpha1.TransferEndpoint) (*serverconfig.Config, *corev1.Secret) {
	t.Helper()
	secret := &corev1.Secret{}
	get(t, te.Namespace, render.NamesFor(te).ConfigSecret, secret)
	cfg, err := serverconfig.Parse(render.ConfigData(secret))
	if err != nil {
		t.Fatalf("the config Secret does not parse: %v", err)
	}
	return cfg, secret
}

// userEntry waits until the endpoint's config has (or, with want false, lacks) the username, and returns it.
func userEntry(t *testing.T, te *transferv1alpha1.TransferEndpoint, username string, want bool) serverconfig.User {
	t.Helper()
	var entry serverconfig.User
	eventually(t, func() error {
		cfg, _ := servedConfig(t, te)
		for _, u := range cfg.Users {
			if u.Username == username {
				entry = u
				if !want {
					return fmt.Errorf("user %s is still in the config", username)
				}
				return nil
			}
		}
		if want {
			return fmt.Errorf("user %s is not in the config yet", username)
		}
		return nil
	})
	return entry
}

// poke changes an annotation of obj, which makes its controller reconcile it, with a merge patch of that
// annotation alone (as kubectl annotate does): an Update from a typed object would also rewrite durations such
// as "5m" as "5m0s", a spec change.
func poke(t *testing.T, obj client.Object) {
	t.Helper()
	patch := []byte(fmt.Sprintf(`{"metadata":{"annotations":{"test.pier.dev/poke":"%d"}}}`, time.Now().UnixNano()))
	if err := k8s.Patch(context.Background(), obj, client.RawPatch(types.MergePatchType, patch)); err != nil {
		t.Fatalf("annotating %s: %v", obj.GetName(), err)
	}
}
