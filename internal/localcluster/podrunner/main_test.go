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

package podrunner_test

import (
	"context"
	"encoding/json"
	"fmt"
	"io"
	"log/slog"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	authenticationv1 "k8s.io/api/authentication/v1"
	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/util/intstr"
	"k8s.io/client-go/kubernetes"

	"github.com/pier-dev/pier/internal/localcluster/controlplane"
	"github.com/pier-dev/pier/internal/localcluster/podrunner"
	"github.com/pier-dev/pier/internal/testsupport/poll"
)

// echoImage is the image of the test pods; it runs testdata/echoserver.
const echoImage = "example.test/echoserver:test"

var (
	env        *controlplane.Env
	k8s        kubernetes.Interface
	echoBinary string
)

// TestMain builds the echoserver and runs a control plane whose deployment and replicaset controllers make real
// pods out of Deployments. It calls podrunner.Init first: the runner re-executes this test binary as the init of
// every container.
func TestMain(m *testing.M) {
	podrunner.Init()
	os.Exit(run(m))
}

func run(m *testing.M) int {
	dir, err := os.MkdirTemp("", "podrunner-test-")
	if err != nil {
		fmt.Fprintln(os.Stderr, err)
		return 1
	}
	defer func() { _ = os.RemoveAll(dir) }()
	// PODRUNNER_TEST_ECHOSERVER names a prebuilt echoserver, to run a test binary built with go test -c as an
	// ordinary user (the user-namespace path) on a machine where only root can build.
	echoBinary = os.Getenv("PODRUNNER_TEST_ECHOSERVER")
	if echoBinary == "" {
		echoBinary = filepath.Join(dir, "echoserver")
		build := exec.Command("go", "build", "-o", echoBinary, "./testdata/echoserver")
		// Static: the container's root holds the binary and nothing else, no C library.
		build.Env = append(os.Environ(), "CGO_ENABLED=0")
		if out, err := build.CombinedOutput(); err != nil {
			fmt.Fprintf(os.Stderr, "building the echoserver: %v\n%s", err, out)
			return 1
		}
	}
	env, err = controlplane.StartWith(controlplane.Options{
		KubeControllers: []string{"deployment-controller", "replicaset-controller", "garbage-collector-controller"},
	})
	if err != nil {
		fmt.Fprintln(os.Stderr, err)
		return 1
	}
	defer func() { _ = env.Stop() }()
	if k8s, err = kubernetes.NewForConfig(env.Config); err != nil {
		fmt.Fprintln(os.Stderr, err)
		return 1
	}
	return m.Run()
}

func logOutput() io.Writer {
	if os.Getenv("PIER_TEST_VERBOSE") != "" {
		return os.Stderr
	}
	return io.Discard
}

// runner is a Runner running for one test, limited to the test's namespace.
type runner struct {
	*podrunner.Runner
	stateDir string
	stop     func() // stops Run and waits for it; also done at the end of the test
}

func startRunner(t *testing.T, namespace string) *runner {
	t.Helper()
	stateDir := t.TempDir()
	r, err := podrunner.New(podrunner.Options{
		Config:    env.Config,
		NodeName:  "pier-local",
		Namespace: namespace,
		Images:    map[string]podrunner.Image{echoImage: {Binary: echoBinary, Entrypoint: "/echoserver"}},
		StateDir:  stateDir,
		Logs:      logOutput(),
		Log:       slog.New(slog.NewTextHandler(logOutput(), &slog.HandlerOptions{Level: slog.LevelDebug})),
	})
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() { done <- r.Run(ctx) }()
	var once sync.Once
	stop := func() {
		once.Do(func() {
			cancel()
			select {
			case err := <-done:
				if err != nil {
					t.Errorf("Run: %v", err)
				}
			case <-time.After(time.Minute):
				t.Errorf("Run did not return a minute after its context was cancelled")
			}
		})
	}
	t.Cleanup(stop)
	return &runner{Runner: r, stateDir: stateDir, stop: stop}
}

// eventually retries check until it passes or a generous deadline passes; it waits, it does not measure.
func eventually(t *testing.T, what string, check func() error) {
	t.Helper()
	poll.Until(t, what, 60*time.Second, check)
}

// echoPodSpec runs the echoserver on port, ready when /readyz answers. No service account token: the tests that
// want one say so.
func echoPodSpec(port int) corev1.PodSpec {
	return corev1.PodSpec{
		AutomountServiceAccountToken:  new(false),
		TerminationGracePeriodSeconds: new(int64(5)),
		Containers: []corev1.Container{{
			Name:  "echo",
			Image: echoImage,
			Args:  []string{"--listen", fmt.Sprintf("127.0.0.1:%d", port)},
			Ports: []corev1.ContainerPort{{Name: "http", ContainerPort: int32(port)}},
			ReadinessProbe: &corev1.Probe{
				ProbeHandler:  corev1.ProbeHandler{HTTPGet: &corev1.HTTPGetAction{Path: "/readyz", Port: intstr.FromString("http")}},
				PeriodSeconds: 1,
			},
		}},
	}
}

func createPod(t *testing.T, namespace, name string, spec corev1.PodSpec) *corev1.Pod {
	t.Helper()
	pod := &corev1.Pod{ObjectMeta: metav1.ObjectMeta{Name: name, Namespace: namespace}, Spec: spec}
	pod, err := k8s.CoreV1().Pods(namespace).Create(context.Background(), pod, metav1.CreateOptions{})
	if err != nil {
		t.Fatal(err)
	}
	return pod
}

// podReady waits until the pod is Running and Ready.
func podReady(t *testing.T, namespace, name string) {
	t.Helper()
	eventually(t, "pod "+name+" ready", func() error {
		pod, err := k8s.CoreV1().Pods(namespace).Get(context.Background(), name, metav1.GetOptions{})
		if err != nil {
			return err
		}
		if pod.Status.Phase != corev1.PodRunning || !isReady(pod) {
			return fmt.Errorf("phase %s, ready %v, containers %+v", pod.Status.Phase, isReady(pod), pod.Status.ContainerStatuses)
		}
		return nil
	})
}

func isReady(pod *corev1.Pod) bool {
	for _, c := range pod.Status.Conditions {
		if c.Type == corev1.PodReady {
			return c.Status == corev1.ConditionTrue
		}
	}
	return false
}

// get returns the body of the echoserver's answer to path, or an error for anything but 200.
func get(port int, path string) (string, error) {
	resp, err := http.Get(fmt.Sprintf("http://127.0.0.1:%d%s", port, path))
	if err != nil {
		return "", err
	}
	defer func() { _ = resp.Body.Close() }()
	body, err := io.ReadAll(resp.Body)
	if err != nil {
		return "", err
	}
	if resp.StatusCode != http.StatusOK {
		return "", fmt.Errorf("GET %s: %s: %s", path, resp.Status, strings.TrimSpace(string(body)))
	}
	return string(body), nil
}

// info is the echoserver's /info.
type info struct {
	UID, GID       int
	Groups         []int
	Env            []string
	Hostname       string
	RootWriteError string
}

func getInfo(t *testing.T, port int) info {
	t.Helper()
	body, err := get(port, "/info")
	if err != nil {
		t.Fatal(err)
	}
	var i info
	if err := json.Unmarshal([]byte(body), &i); err != nil {
		t.Fatal(err)
	}
	return i
}

func tokenReview(token string) *authenticationv1.TokenReview {
	return &authenticationv1.TokenReview{Spec: authenticationv1.TokenReviewSpec{Token: token}}
}
