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
	"context"
	"fmt"
	"io"
	"log/slog"
	"os"
	"os/exec"
	"path/filepath"
	"sync"
	"syscall"
	"time"

	corev1 "k8s.io/api/core/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/types"
)

const (
	// podIP is every pod's IP, and the Node's: pods use the host's network.
	podIP = "127.0.0.1"
	// Restart back-off: 1s, doubling up to 30s. A process that ran for backoffReset starts the count again.
	backoffMin   = time.Second
	backoffMax   = 30 * time.Second
	backoffReset = time.Minute
	// retryEvery is how often a pod that cannot start yet (missing Secret, ServiceAccount, claim) tries again,
	// besides when a Secret or ConfigMap changes.
	retryEvery = time.Second
	// shutdownGrace caps the grace period when Run stops, so that Ctrl-C in make demo never hangs for long.
	shutdownGrace = 10 * time.Second
)

// worker is the kubelet of one pod: its goroutine (run) prepares, starts, restarts and stops the pod's process
// and writes the pod's status. Everything below mu is shared with the informer, the process's waiter and the
// readiness probe; the rest belongs to run's goroutine.
type worker struct {
	r    *Runner
	uid  types.UID
	name types.NamespacedName
	dir  string // StateDir/pods/<uid>
	log  *slog.Logger
	wake chan struct{}
	// created and seq order pods for the host-port rule (newerThan): the pod's creationTimestamp, and the order
	// in which the runner took it on.
	created metav1.Time
	seq     uint64

	ports []hostPort // guarded by r.mu: the host ports the pod holds (claimPorts, releasePorts)

	mu       sync.Mutex
	pod      *corev1.Pod // the latest version the informer saw
	gone     bool        // deleted from the API
	proc     *process    // the live process; nil when there is none
	ready    bool        // the readiness probe's verdict on proc
	handedTo *worker     // the newer pod this one handed its host ports over to (handOver)

	state, lastState corev1.ContainerState
	starts           int // processes started; the restart count is starts-1
	backoff          time.Duration
	notBefore        time.Time // no restart before this
	finished         bool      // exited, and the restart policy says it stays so
	problem          string    // why this pod can never run here
	startTime        *metav1.Time
	conditions       map[corev1.PodConditionType]corev1.PodCondition
	written          *corev1.PodStatus // the status last written
	tokenDue         time.Time         // when the service account token must be renewed
	due              time.Time         // when run wakes up at the latest
}

// process is one run of the container's program.
type process struct {
	cmd      *exec.Cmd
	started  metav1.Time
	done     chan struct{} // closed once it exited, its output is flushed and its ports are released
	stopping bool          // it got SIGTERM; guarded by the worker's mu
}

func (p *process) exited() bool {
	select {
	case <-p.done:
		return true
	default:
		return false
	}
}

// newWorker makes the worker of a pod. r.mu is held.
func newWorker(r *Runner, pod *corev1.Pod) *worker {
	name := types.NamespacedName{Namespace: pod.Namespace, Name: pod.Name}
	r.seq++
	return &worker{
		r: r, uid: pod.UID, name: name, pod: pod, created: pod.CreationTimestamp, seq: r.seq,
		dir:        filepath.Join(r.opts.StateDir, "pods", string(pod.UID)),
		log:        r.log.With("pod", name.String()),
		wake:       make(chan struct{}, 1),
		conditions: map[corev1.PodConditionType]corev1.PodCondition{},
	}
}

// update hands the worker the pod's latest version.
func (w *worker) update(pod *corev1.Pod, deleted bool) {
	w.mu.Lock()
	w.pod = pod
	w.gone = w.gone || deleted
	w.mu.Unlock()
	w.poke()
}

// poke wakes run without blocking; one pending wake-up is enough.
func (w *worker) poke() {
	select {
	case w.wake <- struct{}{}:
	default:
	}
}

func (w *worker) running() bool {
	w.mu.Lock()
	defer w.mu.Unlock()
	return w.proc != nil && !w.proc.exited()
}

// wakeBy makes run wake up at t at the latest.
func (w *worker) wakeBy(t time.Time) {
	if t.Before(w.due) {
		w.due = t
	}
}

// run is the pod's loop: bring the process where the pod says, report, sleep until something changes.
func (w *worker) run(ctx context.Context) {
	defer w.r.wg.Done()
	w.log.Info("running pod", "uid", w.uid)
	for {
		w.mu.Lock()
		pod, gone := w.pod, w.gone
		w.mu.Unlock()
		switch {
		case ctx.Err() != nil:
			w.stop(min(gracePeriod(pod), shutdownGrace))
			return
		case gone || pod.DeletionTimestamp != nil:
			w.terminate(ctx, pod, gone)
			return
		}
		w.due = time.Now().Add(time.Minute)
		w.sync(ctx, pod)
		w.writeStatus(ctx, pod)
		timer := time.NewTimer(time.Until(w.due))
		select {
		case <-ctx.Done():
		case <-w.wake:
		case <-timer.C:
		}
		timer.Stop()
	}
}

// sync moves the pod one step: notice an exit, keep volumes current, or start the process.
func (w *worker) sync(ctx context.Context, pod *corev1.Pod) {
	if w.startTime == nil {
		w.startTime = new(metav1.Now())
	}
	w.reap(pod)
	if w.running() {
		// Secrets, ConfigMaps and the token are kept current while the process runs, like the kubelet does.
		if _, err := w.setUpVolumes(ctx, pod, true); err != nil {
			w.log.Debug("refreshing volumes", "error", err)
		}
		if !w.tokenDue.IsZero() {
			// Not before retryEvery: a renewal that failed is tried again, but not in a tight loop.
			w.wakeBy(maxTime(w.tokenDue, time.Now().Add(retryEvery)))
		}
		return
	}
	if w.finished {
		return
	}
	if w.problem = unsupported(pod); w.problem != "" {
		return
	}
	if time.Now().Before(w.notBefore) {
		w.wakeBy(w.notBefore)
		return
	}
	if w.r.yieldsTo(w) != nil {
		return // its state says PortsHandedOver
	}
	spec, reason, err := w.prepare(ctx, pod)
	if err != nil {
		w.state = waiting(reason, err.Error())
		w.wakeBy(time.Now().Add(retryEvery))
		return
	}
	// The host-port rule: the holder's exit, or its worker's end, pokes this worker.
	if wait := w.r.claimPorts(w, pod); wait != "" {
		if w.state.Waiting == nil || w.state.Waiting.Message != wait {
			w.log.Info("waiting for host ports", "reason", wait)
		}
		w.state = waiting("ContainerCreating", wait)
		return
	}
	if err := w.start(pod, spec); err != nil {
		w.r.releasePorts(w, nil)
		w.log.Warn("starting the container", "error", err)
		now := metav1.Now()
		w.exited(pod, &corev1.ContainerStateTerminated{
			ExitCode: 128, Reason: "StartError", Message: err.Error(), StartedAt: now, FinishedAt: now,
		})
	}
}

// unsupported says why podrunner cannot run the pod at all, or "".
func unsupported(pod *corev1.Pod) string {
	switch {
	case len(pod.Spec.Containers) != 1:
		return fmt.Sprintf("podrunner runs pods with exactly one container; this pod has %d", len(pod.Spec.Containers))
	case len(pod.Spec.InitContainers) > 0:
		return "podrunner does not run init containers"
	}
	return ""
}

// start runs the container's process through the init (see Init) and returns once the program runs.
func (w *worker) start(pod *corev1.Pod, spec *initSpec) error {
	c := &pod.Spec.Containers[0]
	logFile, err := os.OpenFile(filepath.Join(w.dir, c.Name+".log"), os.O_CREATE|os.O_WRONLY|os.O_APPEND, 0o600)
	if err != nil {
		return fmt.Errorf("opening the container's log: %w", err)
	}
	var out io.Writer = logFile
	if w.r.opts.Logs != nil {
		out = io.MultiWriter(logFile, &prefixWriter{mu: &w.r.logMu, w: w.r.opts.Logs, prefix: "[" + pod.Name + "] "})
	}
	cmd, err := startInit(spec, filepath.Join(w.dir, "init.json"), out)
	if err != nil {
		_ = logFile.Close()
		return err
	}
	proc := &process{cmd: cmd, started: metav1.Now(), done: make(chan struct{})}
	probeCtx, stopProbe := context.WithCancel(context.Background())
	go func() {
		_ = cmd.Wait()
		stopProbe()
		_ = logFile.Close()
		w.r.releasePorts(w, proc.done) // closes done and pokes every worker, this one too
	}()

	w.mu.Lock()
	w.proc, w.ready = proc, c.ReadinessProbe == nil
	if w.handedTo != nil {
		w.stopForHandOverLocked() // a newer pod took the ports over while this one was starting
	}
	w.mu.Unlock()
	if c.ReadinessProbe != nil {
		go w.probe(probeCtx, proc, c)
	}
	w.starts++
	if w.state.Terminated != nil {
		w.lastState = w.state // it starts again after its ports were handed over
	}
	w.state = corev1.ContainerState{Running: &corev1.ContainerStateRunning{StartedAt: proc.started}}
	w.log.Info("container started", "pid", cmd.Process.Pid, "restarts", w.starts-1)
	return nil
}

// reap notices that the process exited.
func (w *worker) reap(pod *corev1.Pod) {
	w.mu.Lock()
	proc := w.proc
	if proc == nil || !proc.exited() {
		w.mu.Unlock()
		return
	}
	w.proc, w.ready = nil, false
	to := w.handedTo
	w.mu.Unlock()
	code := exitCode(proc.cmd.ProcessState)
	if to != nil {
		// Stopped, not failed: no restart policy, no back-off. It waits (yieldsTo) while the newer pod is there.
		w.log.Info("container stopped, its host ports handed over", "exitCode", code, "to", to.name.String())
		w.state = handedOverState(proc, code, to)
		return
	}
	reason := "Error"
	if code == 0 {
		reason = "Completed"
	}
	w.log.Info("container exited", "exitCode", code)
	w.exited(pod, &corev1.ContainerStateTerminated{
		ExitCode: int32(code), Reason: reason, StartedAt: proc.started, FinishedAt: metav1.Now(),
	})
}

// exitCode is the process's exit code, or 128+signal when a signal ended it, as container runtimes report.
func exitCode(state *os.ProcessState) int {
	if ws, ok := state.Sys().(syscall.WaitStatus); ok && ws.Signaled() {
		return 128 + int(ws.Signal())
	}
	return state.ExitCode()
}

// exited applies the restart policy to a finished (or failed to start) process.
func (w *worker) exited(pod *corev1.Pod, t *corev1.ContainerStateTerminated) {
	policy := pod.Spec.RestartPolicy
	if policy == corev1.RestartPolicyNever || (policy == corev1.RestartPolicyOnFailure && t.ExitCode == 0) {
		w.state, w.finished = corev1.ContainerState{Terminated: t}, true
		return
	}
	w.lastState = corev1.ContainerState{Terminated: t}
	if t.FinishedAt.Sub(t.StartedAt.Time) >= backoffReset {
		w.backoff = 0
	}
	w.backoff = min(max(2*w.backoff, backoffMin), backoffMax)
	w.notBefore = time.Now().Add(w.backoff)
	w.wakeBy(w.notBefore)
	w.state = waiting("CrashLoopBackOff", fmt.Sprintf("back-off %s restarting failed container=%s pod=%s",
		w.backoff, pod.Spec.Containers[0].Name, pod.Name))
}

func maxTime(a, b time.Time) time.Time {
	if a.After(b) {
		return a
	}
	return b
}

func waiting(reason, message string) corev1.ContainerState {
	return corev1.ContainerState{Waiting: &corev1.ContainerStateWaiting{Reason: reason, Message: message}}
}

// stop ends the process: SIGTERM (unless it got it already, from a hand-over), then SIGKILL once grace is over.
func (w *worker) stop(grace time.Duration) {
	w.mu.Lock()
	proc := w.proc
	if proc != nil {
		w.sigtermLocked(proc)
	}
	w.mu.Unlock()
	if proc == nil || proc.exited() {
		return
	}
	w.log.Info("stopping container", "gracePeriod", grace)
	timer := time.NewTimer(grace)
	defer timer.Stop()
	select {
	case <-proc.done:
	case <-timer.C:
		w.log.Warn("grace period over, killing the container")
		_ = proc.cmd.Process.Kill()
		<-proc.done
	}
}

// sigtermLocked sends the process SIGTERM once: a second one makes some servers (controller-runtime's) exit at
// once instead of draining. It says whether it sent it. w.mu is held.
func (w *worker) sigtermLocked(proc *process) bool {
	if proc.stopping || proc.exited() {
		return false
	}
	proc.stopping = true
	_ = proc.cmd.Process.Signal(syscall.SIGTERM)
	return true
}

// terminate is a pod's end: stop the process, make the final delete a kubelet makes when the API still has the
// pod, and remove the pod's root and volumes (its log stays, for whoever wonders what happened).
func (w *worker) terminate(ctx context.Context, pod *corev1.Pod, gone bool) {
	w.stop(gracePeriod(pod))
	if !gone {
		err := w.r.client.CoreV1().Pods(pod.Namespace).Delete(ctx, pod.Name, metav1.DeleteOptions{
			GracePeriodSeconds: new(int64(0)),
			Preconditions:      metav1.NewUIDPreconditions(string(pod.UID)),
		})
		if err != nil && !apierrors.IsNotFound(err) && !apierrors.IsConflict(err) {
			w.log.Warn("deleting the pod", "error", err)
		}
	}
	for _, dir := range []string{"rootfs", "volumes"} {
		if err := os.RemoveAll(filepath.Join(w.dir, dir)); err != nil {
			w.log.Warn("cleaning up the pod's folder", "error", err)
		}
	}
	_ = os.Remove(filepath.Join(w.dir, "init.json"))
	w.r.forget(w.uid)
	w.log.Info("pod removed")
}

// gracePeriod is how long a stopping pod gets between SIGTERM and SIGKILL.
func gracePeriod(pod *corev1.Pod) time.Duration {
	seconds := int64(corev1.DefaultTerminationGracePeriodSeconds)
	if pod.Spec.TerminationGracePeriodSeconds != nil {
		seconds = *pod.Spec.TerminationGracePeriodSeconds
	}
	if pod.DeletionGracePeriodSeconds != nil {
		seconds = *pod.DeletionGracePeriodSeconds
	}
	return time.Duration(seconds) * time.Second
}
