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

package podrunner

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net/url"
	"os"
	"path/filepath"
	"runtime"
	"slices"
	"strings"
	"sync"
	"time"

	corev1 "k8s.io/api/core/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	"k8s.io/apimachinery/pkg/api/resource"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/labels"
	"k8s.io/apimachinery/pkg/types"
	"k8s.io/client-go/informers"
	"k8s.io/client-go/kubernetes"
	corev1listers "k8s.io/client-go/listers/core/v1"
	"k8s.io/client-go/rest"
	"k8s.io/client-go/tools/cache"
)

// Image is what an image name stands for on this machine.
type Image struct {
	// Binary is the absolute path of a static binary: the image's only content.
	Binary string
	// Entrypoint is where Binary appears in the container (such as "/pier-server"), and what runs when the
	// container has no command.
	Entrypoint string
}

// Options configure a Runner.
type Options struct {
	// Config is the runner's identity: it registers the Node, binds pods, writes their status, reads the Secrets
	// and ConfigMaps they mount and requests their service account tokens. Its host and CA are also what the pods
	// get as their API server.
	Config *rest.Config
	// NodeName is the Node the runner registers and acts as the kubelet of; "pier-local" when empty.
	NodeName string
	// Namespace limits the runner to one namespace; "" means all.
	Namespace string
	// Selector chooses the pods to run; nil runs every pod. Every pod binds its container ports on this machine,
	// so two pods with the same ports take turns (see "Host ports" in the package documentation).
	Selector labels.Selector
	// Images maps image names to local binaries. A pod with another image waits with ErrImagePull.
	Images map[string]Image
	// StateDir holds the pods' root folders, volumes and logs (pods/<uid>/) and the claims' folders
	// (volumes/<namespace>/<claim>/).
	StateDir string
	// Logs, when set, also receives every pod's output, each line prefixed with the pod's name.
	Logs io.Writer
	// Log is the runner's own log; slog.Default() when nil.
	Log *slog.Logger
}

// Runner is the kubelet of one Node. Create it with New and start it with Run.
type Runner struct {
	opts   Options
	client kubernetes.Interface
	log    *slog.Logger
	// apiHost, apiPort and caData are the API server as pods see it.
	apiHost, apiPort string
	caData           []byte

	secrets    corev1listers.SecretLister
	configMaps corev1listers.ConfigMapLister

	logMu sync.Mutex // keeps lines of different pods apart on Options.Logs

	wg      sync.WaitGroup // workers and bindings
	mu      sync.Mutex
	stopped bool
	workers map[types.UID]*worker
	binding map[types.UID]bool
	seq     uint64 // workers made so far
}

// New checks the options; nothing happens until Run.
func New(opts Options) (*Runner, error) {
	if opts.Config == nil {
		return nil, errors.New("podrunner: Options.Config is required")
	}
	if opts.StateDir == "" {
		return nil, errors.New("podrunner: Options.StateDir is required")
	}
	if opts.NodeName == "" {
		opts.NodeName = "pier-local"
	}
	if opts.Selector == nil {
		opts.Selector = labels.Everything()
	}
	if opts.Log == nil {
		opts.Log = slog.Default()
	}
	for name, img := range opts.Images {
		if !filepath.IsAbs(img.Binary) || !filepath.IsAbs(img.Entrypoint) {
			return nil, fmt.Errorf("podrunner: image %s: Binary and Entrypoint must be absolute paths", name)
		}
		if _, err := os.Stat(img.Binary); err != nil {
			return nil, fmt.Errorf("podrunner: image %s: %w", name, err)
		}
	}
	stateDir, err := filepath.Abs(opts.StateDir)
	if err != nil {
		return nil, fmt.Errorf("podrunner: state folder: %w", err)
	}
	// Only the runner reads it: it holds the pods' Secrets. The containers never walk through it, they see only
	// what is bind-mounted into their root.
	if err := os.MkdirAll(stateDir, 0o700); err != nil {
		return nil, fmt.Errorf("podrunner: state folder: %w", err)
	}
	opts.StateDir = stateDir
	host, port, err := apiHostPort(opts.Config.Host)
	if err != nil {
		return nil, err
	}
	caData := opts.Config.CAData
	if len(caData) == 0 && opts.Config.CAFile != "" {
		if caData, err = os.ReadFile(opts.Config.CAFile); err != nil {
			return nil, fmt.Errorf("podrunner: reading the API server's CA: %w", err)
		}
	}
	client, err := kubernetes.NewForConfig(opts.Config)
	if err != nil {
		return nil, fmt.Errorf("podrunner: creating a client: %w", err)
	}
	return &Runner{
		opts: opts, client: client, log: opts.Log.With("node", opts.NodeName),
		apiHost: host, apiPort: port, caData: caData,
		workers: map[types.UID]*worker{}, binding: map[types.UID]bool{},
	}, nil
}

// apiHostPort splits rest.Config.Host ("https://127.0.0.1:6443" or "127.0.0.1:6443") into what
// KUBERNETES_SERVICE_HOST and KUBERNETES_SERVICE_PORT say.
func apiHostPort(host string) (string, string, error) {
	if !strings.Contains(host, "://") {
		host = "https://" + host
	}
	u, err := url.Parse(host)
	if err != nil {
		return "", "", fmt.Errorf("podrunner: reading the API server address: %w", err)
	}
	if u.Hostname() == "" {
		return "", "", fmt.Errorf("podrunner: the API server address %q has no host", host)
	}
	port := u.Port()
	if port == "" {
		port = "443"
	}
	return u.Hostname(), port, nil
}

// Run registers the Node and runs the selected pods until ctx is done. Then it stops every process it started
// (SIGTERM, then SIGKILL after the pod's grace period, at most shutdownGrace) and returns, changing nothing more
// in the API: the pods stay bound to the Node, as they would when a kubelet stops.
func (r *Runner) Run(ctx context.Context) error {
	if err := r.registerNode(ctx); err != nil {
		return err
	}
	// Secrets and ConfigMaps come from caches, and every change pokes the pods so they re-write their volumes.
	volumes := informers.NewSharedInformerFactoryWithOptions(r.client, 0, informers.WithNamespace(r.opts.Namespace))
	secrets, configMaps := volumes.Core().V1().Secrets(), volumes.Core().V1().ConfigMaps()
	r.secrets, r.configMaps = secrets.Lister(), configMaps.Lister()
	pokeAll := cache.ResourceEventHandlerFuncs{
		AddFunc:    func(any) { r.pokeAll() },
		UpdateFunc: func(any, any) { r.pokeAll() },
		DeleteFunc: func(any) { r.pokeAll() },
	}
	for _, informer := range []cache.SharedIndexInformer{secrets.Informer(), configMaps.Informer()} {
		if _, err := informer.AddEventHandler(pokeAll); err != nil {
			return fmt.Errorf("podrunner: watching volumes: %w", err)
		}
	}
	volumes.Start(ctx.Done())
	defer volumes.Shutdown()
	for typ, ok := range volumes.WaitForCacheSync(ctx.Done()) {
		if !ok && ctx.Err() == nil {
			return fmt.Errorf("podrunner: the %v cache did not sync", typ)
		}
	}

	// The resync re-delivers every pod now and then: a binding that failed is tried again, and workers wake up.
	pods := informers.NewSharedInformerFactoryWithOptions(r.client, 30*time.Second,
		informers.WithNamespace(r.opts.Namespace),
		informers.WithTweakListOptions(func(o *metav1.ListOptions) { o.LabelSelector = r.opts.Selector.String() }))
	_, err := pods.Core().V1().Pods().Informer().AddEventHandler(cache.ResourceEventHandlerFuncs{
		AddFunc:    func(obj any) { r.podChanged(ctx, obj, false) },
		UpdateFunc: func(_, obj any) { r.podChanged(ctx, obj, false) },
		DeleteFunc: func(obj any) { r.podChanged(ctx, obj, true) },
	})
	if err != nil {
		return fmt.Errorf("podrunner: watching pods: %w", err)
	}
	pods.Start(ctx.Done())
	defer pods.Shutdown()
	r.log.Info("pod runner started", "namespace", r.opts.Namespace, "selector", r.opts.Selector.String(),
		"stateDir", r.opts.StateDir)

	<-ctx.Done()
	r.mu.Lock()
	r.stopped = true // no new workers: wg.Wait must not race with wg.Add
	r.mu.Unlock()
	r.wg.Wait()
	r.log.Info("pod runner stopped")
	return nil
}

// podChanged is the pod informer's handler. It only does bookkeeping; API calls happen in goroutines.
func (r *Runner) podChanged(ctx context.Context, obj any, deleted bool) {
	if tomb, ok := obj.(cache.DeletedFinalStateUnknown); ok {
		obj = tomb.Obj
	}
	pod, ok := obj.(*corev1.Pod)
	if !ok {
		return
	}
	r.mu.Lock()
	defer r.mu.Unlock()
	if r.stopped {
		return
	}
	if w := r.workers[pod.UID]; w != nil {
		w.update(pod, deleted)
		return
	}
	switch {
	case deleted:
	case pod.Spec.NodeName == "":
		if pod.DeletionTimestamp == nil && len(pod.Spec.SchedulingGates) == 0 && !r.binding[pod.UID] {
			r.binding[pod.UID] = true
			r.wg.Add(1)
			go r.bind(ctx, pod)
		}
	case pod.Spec.NodeName == r.opts.NodeName:
		// A finished pod left from an earlier run is not run again; one being deleted still gets its final delete.
		finished := pod.Status.Phase == corev1.PodSucceeded || pod.Status.Phase == corev1.PodFailed
		if finished && pod.DeletionTimestamp == nil {
			return
		}
		w := newWorker(r, pod)
		r.workers[pod.UID] = w
		r.wg.Add(1)
		go w.run(ctx)
	}
}

// bind assigns the pod to the Node, what the scheduler does. The pod's next update then starts its worker.
func (r *Runner) bind(ctx context.Context, pod *corev1.Pod) {
	defer r.wg.Done()
	err := r.client.CoreV1().Pods(pod.Namespace).Bind(ctx, &corev1.Binding{
		ObjectMeta: metav1.ObjectMeta{Name: pod.Name, Namespace: pod.Namespace, UID: pod.UID},
		Target:     corev1.ObjectReference{Kind: "Node", Name: r.opts.NodeName},
	}, metav1.CreateOptions{})
	if err != nil && ctx.Err() == nil {
		// The informer's resync offers the pod again if it is still unbound.
		r.log.Warn("binding a pod", "pod", pod.Namespace+"/"+pod.Name, "error", err)
	}
	r.mu.Lock()
	delete(r.binding, pod.UID)
	r.mu.Unlock()
}

// forget drops a worker whose pod is gone, and wakes the others: one may have handed its ports over to it.
func (r *Runner) forget(uid types.UID) {
	r.mu.Lock()
	delete(r.workers, uid)
	r.mu.Unlock()
	r.pokeAll()
}

// pokeAll wakes every worker, after a Secret or ConfigMap changed or host ports were freed.
func (r *Runner) pokeAll() {
	r.mu.Lock()
	defer r.mu.Unlock()
	for _, w := range r.workers {
		w.poke()
	}
}

// Running lists the pods that have a live process, sorted.
func (r *Runner) Running() []types.NamespacedName {
	r.mu.Lock()
	var names []types.NamespacedName
	for _, w := range r.workers {
		if w.running() {
			names = append(names, w.name)
		}
	}
	r.mu.Unlock()
	slices.SortFunc(names, func(a, b types.NamespacedName) int { return strings.Compare(a.String(), b.String()) })
	return names
}

// registerNode creates the Node, or takes over the one an earlier run left, and says it is Ready.
func (r *Runner) registerNode(ctx context.Context) error {
	nodes := r.client.CoreV1().Nodes()
	node := &corev1.Node{ObjectMeta: metav1.ObjectMeta{
		Name: r.opts.NodeName,
		Labels: map[string]string{
			corev1.LabelHostname: r.opts.NodeName, corev1.LabelOSStable: runtime.GOOS, corev1.LabelArchStable: runtime.GOARCH,
		},
	}}
	if _, err := nodes.Create(ctx, node, metav1.CreateOptions{}); err != nil && !apierrors.IsAlreadyExists(err) {
		return fmt.Errorf("podrunner: registering node %s: %w", r.opts.NodeName, err)
	}
	node, err := nodes.Get(ctx, r.opts.NodeName, metav1.GetOptions{})
	if err != nil {
		return fmt.Errorf("podrunner: reading node %s: %w", r.opts.NodeName, err)
	}
	now := metav1.Now()
	capacity := corev1.ResourceList{
		corev1.ResourceCPU:  *resource.NewQuantity(int64(runtime.NumCPU()), resource.DecimalSI),
		corev1.ResourcePods: resource.MustParse("110"),
	}
	node.Status = corev1.NodeStatus{
		Capacity:    capacity,
		Allocatable: capacity,
		Conditions: []corev1.NodeCondition{{
			Type: corev1.NodeReady, Status: corev1.ConditionTrue, Reason: "KubeletReady",
			Message: "podrunner is running pods", LastHeartbeatTime: now, LastTransitionTime: now,
		}},
		Addresses: []corev1.NodeAddress{
			{Type: corev1.NodeInternalIP, Address: podIP},
			{Type: corev1.NodeHostName, Address: r.opts.NodeName},
		},
		NodeInfo: corev1.NodeSystemInfo{
			OperatingSystem: runtime.GOOS, Architecture: runtime.GOARCH, KubeletVersion: "podrunner",
		},
	}
	if _, err := nodes.UpdateStatus(ctx, node, metav1.UpdateOptions{}); err != nil {
		return fmt.Errorf("podrunner: node %s status: %w", r.opts.NodeName, err)
	}
	return nil
}

// prefixWriter writes whole lines to the shared Options.Logs, each prefixed with the pod's name. exec gives it
// both stdout and stderr through one pipe, so Write is never called concurrently on one prefixWriter.
type prefixWriter struct {
	mu     *sync.Mutex
	w      io.Writer
	prefix string
	buf    []byte
}

func (p *prefixWriter) Write(b []byte) (int, error) {
	p.buf = append(p.buf, b...)
	for {
		i := bytes.IndexByte(p.buf, '\n')
		if i < 0 {
			break
		}
		p.mu.Lock()
		_, _ = io.WriteString(p.w, p.prefix+string(p.buf[:i+1]))
		p.mu.Unlock()
		p.buf = p.buf[i+1:]
	}
	return len(b), nil
}
