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

package main

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"net/http"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"time"

	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/client-go/kubernetes"
	"k8s.io/client-go/tools/clientcmd"
)

// refusedError says why a node cannot run on this machine, before anything was started.
type refusedError struct{ reasons []string }

func (e *refusedError) Error() string {
	return "a node cannot run here:\n  - " + strings.Join(e.reasons, "\n  - ")
}

// upOptions are up's inputs.
type upOptions struct {
	binDir   string // the Kubernetes binaries (hack/setup-envtest.sh --with-node)
	repoRoot string // for building the pause image
	nodeIP   string
	timeout  time.Duration
}

// up brings the node up, starting only what does not run yet, and returns once the node is Ready.
func up(ctx context.Context, l layout, o upOptions, log *slog.Logger) error {
	if r := gatherFacts(o.binDir).refusals(); len(r) > 0 {
		return &refusedError{reasons: r}
	}
	ip, err := nodeAddress(o.nodeIP)
	if err != nil {
		return err
	}
	n := network{nodeIP: ip}
	ctx, cancel := context.WithTimeout(ctx, o.timeout)
	defer cancel()
	log.Info("node address", "nodeIP", ip, "state", l.state)

	changed, err := prepareHost(ctx, l, n, log)
	if err != nil {
		return err
	}

	client, err := kubeClient(l.Kubeconfig())
	if err != nil {
		return err
	}
	for _, c := range componentCommands(l, n) {
		pid := l.runningPID(c.name)
		if pid != 0 && changed[c.name] {
			// A component reads its configuration file once; kube-proxy exits by itself when it changes.
			log.Info("restarting: its configuration changed", "component", c.name, "pid", pid)
			if err := stopPID(pid, stopGrace); err != nil {
				return err
			}
			pid = 0
		}
		if pid != 0 {
			log.Info("already running", "component", c.name, "pid", pid)
		} else {
			binary := filepath.Join(o.binDir, c.name)
			if c.name == compContainerd {
				binary = compContainerd // Debian's, from PATH
			}
			if pid, err = l.start(lookPath(binary), c); err != nil {
				return err
			}
			log.Info("started", "component", c.name, "pid", pid, "log", filepath.Join(l.logs(), c.name+".log"))
		}
		err := waitFor(ctx, c.name, l, pid, func(ctx context.Context) error { return componentReady(ctx, c.name, l, client) })
		if err != nil {
			return err
		}
		if c.name == compContainerd {
			if err := l.ensurePauseImage(ctx, o.repoRoot); err != nil {
				return fmt.Errorf("the pause image: %w", err)
			}
		}
	}
	if err := waitFor(ctx, "kube-proxy's rules", l, 0, func(ctx context.Context) error {
		out, err := run(ctx, "iptables", "-t", "nat", "-S", "KUBE-SERVICES")
		if err != nil || !strings.Contains(out, "default/kubernetes:https") {
			return errors.New("kube-proxy has not written the kubernetes Service's rules yet")
		}
		return nil
	}); err != nil {
		return err
	}
	return waitFor(ctx, "the default ServiceAccount", l, 0, func(ctx context.Context) error {
		_, err := client.CoreV1().ServiceAccounts("default").Get(ctx, "default", metav1.GetOptions{})
		return err
	})
}

// prepareHost readies the machine before any process starts: kernel settings (recorded first), certificates,
// configuration files (it says which components' changed), folders and the guard rules.
func prepareHost(ctx context.Context, l layout, n network, log *slog.Logger) (map[string]bool, error) {
	if err := l.snapshotSysctls(); err != nil {
		return nil, fmt.Errorf("recording kernel settings: %w", err)
	}
	for key, v := range sysctlsNeeded {
		if _, err := os.Stat(sysctlPath(key)); errors.Is(err, os.ErrNotExist) && strings.HasPrefix(key, "net/bridge/") {
			if _, err := run(ctx, "modprobe", "br_netfilter"); err != nil {
				return nil, fmt.Errorf("%s is missing and br_netfilter cannot be loaded: %w", key, err)
			}
		}
		if err := setSysctl(key, v); err != nil {
			return nil, err
		}
	}
	if err := ensurePKI(l, n); err != nil {
		return nil, fmt.Errorf("certificates: %w", err)
	}
	changed, err := writeConfigs(l, n, log)
	if err != nil {
		return nil, err
	}
	for _, dir := range []string{l.etcdData(), l.kubeletRoot(), l.podLogs(), l.cniIPAM(), l.containerdRoot(), l.run} {
		if err := os.MkdirAll(dir, 0o700); err != nil {
			return nil, err
		}
	}
	log.Info("guard rules: the cluster's packets stay on this machine")
	if err := applyGuard(ctx); err != nil {
		return nil, fmt.Errorf("installing the guard rules: %w", err)
	}

	return changed, nil
}

func lookPath(binary string) string {
	if filepath.IsAbs(binary) {
		return binary
	}
	for _, dir := range filepath.SplitList(os.Getenv("PATH")) {
		if p := filepath.Join(dir, binary); isExecutable(p) {
			return p
		}
	}
	return binary
}

func isExecutable(p string) bool {
	st, err := os.Stat(p)
	return err == nil && !st.IsDir() && st.Mode()&0o111 != 0
}

// writeConfigs writes the configuration files, each only when its content changed, and says which components'
// files changed.
func writeConfigs(l layout, n network, log *slog.Logger) (map[string]bool, error) {
	cni, err := cniConfig(l)
	if err != nil {
		return nil, err
	}
	files := []struct{ component, file, content string }{
		{compContainerd, filepath.Join(l.config(), "containerd.toml"), containerdConfig(l)},
		{compContainerd, filepath.Join(l.cniConfDir(), "10-pier-node.conflist"), cni},
		{compKubelet, filepath.Join(l.config(), "kubelet.yaml"), kubeletConfig(l, n)},
		{compProxy, filepath.Join(l.config(), "kube-proxy.yaml"), kubeProxyConfig(l, n)},
	}
	changed := map[string]bool{}
	for _, f := range files {
		wrote, err := writeIfChanged(f.file, []byte(f.content), 0o600)
		if err != nil {
			return nil, fmt.Errorf("writing %s: %w", f.file, err)
		}
		if wrote {
			log.Info("wrote", "file", f.file)
			changed[f.component] = true
		}
	}
	return changed, nil
}

func kubeClient(kubeconfig string) (*kubernetes.Clientset, error) {
	cfg, err := clientcmd.BuildConfigFromFlags("", kubeconfig)
	if err != nil {
		return nil, err
	}
	cfg.Timeout = 10 * time.Second
	return kubernetes.NewForConfig(cfg)
}

// waitFor polls ready until it succeeds, the component's process pid (when not 0) has died (its log's end is
// shown) or ctx ends.
func waitFor(ctx context.Context, what string, l layout, pid int, ready func(context.Context) error) error {
	start := time.Now()
	var last error
	for {
		if last = ready(ctx); last == nil {
			return nil
		}
		if pid != 0 && !alive(pid) {
			return fmt.Errorf("%s exited; the end of %s:\n%s", what, filepath.Join(l.logs(), what+".log"),
				tail(filepath.Join(l.logs(), what+".log"), 20))
		}
		select {
		case <-ctx.Done():
			return fmt.Errorf("%s not ready after %s: %w", what, time.Since(start).Round(time.Second), last)
		case <-time.After(500 * time.Millisecond):
		}
	}
}

// componentReady checks one component the way its clients will use it.
func componentReady(ctx context.Context, name string, l layout, client *kubernetes.Clientset) error {
	switch name {
	case compContainerd:
		return criReady(ctx, l.containerdSocket())
	case compEtcd:
		return httpOK(ctx, "http://127.0.0.1:"+strconv.Itoa(etcdClientPort)+"/health")
	case compAPIServer:
		_, err := client.Discovery().RESTClient().Get().AbsPath("/readyz").DoRaw(ctx)
		return err
	case compKubelet:
		node, err := client.CoreV1().Nodes().Get(ctx, nodeName, metav1.GetOptions{})
		if err != nil {
			return err
		}
		for _, c := range node.Status.Conditions {
			if c.Type == corev1.NodeReady {
				if c.Status == corev1.ConditionTrue {
					return nil
				}
				return fmt.Errorf("node %s is not Ready: %s", nodeName, c.Message)
			}
		}
		return fmt.Errorf("node %s has no Ready condition yet", nodeName)
	case compProxy:
		return httpOK(ctx, "http://127.0.0.1:"+strconv.Itoa(proxyHealthzPort)+"/healthz")
	}
	return nil
}

func httpOK(ctx context.Context, url string) error {
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, url, nil)
	if err != nil {
		return err
	}
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		return err
	}
	_ = resp.Body.Close()
	if resp.StatusCode != http.StatusOK {
		return fmt.Errorf("%s: %s", url, resp.Status)
	}
	return nil
}

// tail is the last n lines of a file.
func tail(file string, n int) string {
	data, _ := os.ReadFile(file)
	lines := strings.Split(strings.TrimRight(string(data), "\n"), "\n")
	if len(lines) > n {
		lines = lines[len(lines)-n:]
	}
	return strings.Join(lines, "\n")
}
