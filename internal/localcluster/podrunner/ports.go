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
	"fmt"
	"slices"
	"strings"
	"time"

	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
)

// The host-port rule (see "Host ports" in the package documentation) is all in this file.

// reasonPortsHandedOver is the terminated reason of a container stopped so that a newer pod could bind its ports.
const reasonPortsHandedOver = "PortsHandedOver"

// hostPort is a port a container binds on this machine: the pods share the host's network.
type hostPort struct {
	port     int32
	protocol corev1.Protocol
}

func (p hostPort) String() string { return fmt.Sprintf("%d/%s", p.port, p.protocol) }

// containerPorts are the ports the pod's container declares, which its process binds on the host.
func containerPorts(pod *corev1.Pod) []hostPort {
	var ports []hostPort
	for _, c := range pod.Spec.Containers {
		for _, p := range c.Ports {
			protocol := p.Protocol
			if protocol == "" {
				protocol = corev1.ProtocolTCP
			}
			ports = append(ports, hostPort{port: p.ContainerPort, protocol: protocol})
		}
	}
	return ports
}

// claimPorts takes the pod's host ports for w, whose process is about to start, or says what w waits for: another
// pod holds one of them. A pod holds its ports from its claim until its process has exited (releasePorts).
//
//   - A holder that is terminating keeps its ports until its process exits.
//   - A live holder that is newer keeps them.
//   - A live holder that is older hands them over: its process is stopped (handOver), and w starts once it exited.
func (r *Runner) claimPorts(w *worker, pod *corev1.Pod) (wait string) {
	want := containerPorts(pod)
	r.mu.Lock()
	defer r.mu.Unlock()
	type conflict struct {
		holder *worker
		port   hostPort
	}
	var conflicts []conflict
	for _, h := range r.workers {
		if h == w {
			continue
		}
		if i := slices.IndexFunc(h.ports, func(p hostPort) bool { return slices.Contains(want, p) }); i >= 0 {
			conflicts = append(conflicts, conflict{h, h.ports[i]})
		}
	}
	if len(conflicts) == 0 {
		w.ports = want
		return ""
	}
	slices.SortFunc(conflicts, func(a, b conflict) int {
		return strings.Compare(a.holder.name.String(), b.holder.name.String())
	})
	for _, c := range conflicts {
		if c.holder.newerThan(w) && !c.holder.terminating() {
			return fmt.Sprintf("port %s is held by pod %s, which is newer", c.port, c.holder.name)
		}
	}
	for _, c := range conflicts {
		c.holder.handOver(w)
	}
	return fmt.Sprintf("waiting for pod %s to release port %s", conflicts[0].holder.name, conflicts[0].port)
}

// releasePorts frees w's host ports, once its process exited or failed to start, and wakes the pods that may
// wait for them. done, when not nil, is the process's done channel: it is closed with the ports freed, so that w,
// which learns of the exit through done, claims its ports again only after.
func (r *Runner) releasePorts(w *worker, done chan struct{}) {
	r.mu.Lock()
	w.ports = nil
	if done != nil {
		close(done)
	}
	r.mu.Unlock()
	r.pokeAll()
}

// newerThan says whether w's pod comes after o's: created later or, within the same second (creationTimestamp's
// resolution), taken on by this runner later, which is creation order for pods created while the runner runs.
func (w *worker) newerThan(o *worker) bool {
	if !w.created.Equal(&o.created) {
		return o.created.Before(&w.created)
	}
	return w.seq > o.seq
}

// terminating says whether the pod only waits for its process to exit: it is being deleted, or its process is
// being stopped.
func (w *worker) terminating() bool {
	w.mu.Lock()
	defer w.mu.Unlock()
	return w.terminatingLocked()
}

func (w *worker) terminatingLocked() bool {
	return w.gone || w.pod.DeletionTimestamp != nil || w.handedTo != nil || (w.proc != nil && w.proc.stopping)
}

// handOver stops w's process, as for a deletion, for the newer pod to, which wants w's ports; w does not start
// again while to is there (yieldsTo). r.mu is held.
func (w *worker) handOver(to *worker) {
	w.mu.Lock()
	defer w.mu.Unlock()
	if w.terminatingLocked() {
		return
	}
	w.handedTo = to
	w.log.Info("handing the host ports over to a newer pod", "to", to.name.String())
	if w.proc != nil {
		w.stopForHandOverLocked()
	}
	w.poke()
}

// stopForHandOverLocked sends SIGTERM to the process, and SIGKILL once the pod's grace period is over. It does not
// wait: the process's exit frees the ports and wakes the pods that wait for them. w.mu is held.
func (w *worker) stopForHandOverLocked() {
	proc, grace := w.proc, gracePeriod(w.pod)
	if !w.sigtermLocked(proc) {
		return
	}
	time.AfterFunc(grace, func() {
		if !proc.exited() {
			w.log.Warn("grace period over, killing the container")
			_ = proc.cmd.Process.Kill()
		}
	})
}

// yieldsTo is the newer pod w handed its ports over to, while that pod is still there and not terminating; then w
// does not start. Otherwise it forgets the hand-over and returns nil.
func (r *Runner) yieldsTo(w *worker) *worker {
	r.mu.Lock()
	defer r.mu.Unlock()
	w.mu.Lock()
	to := w.handedTo
	w.mu.Unlock()
	if to == nil {
		return nil
	}
	if r.workers[to.uid] == to && !to.terminating() {
		return to
	}
	w.log.Info("the pod the host ports were handed over to is going away: this one may start again",
		"to", to.name.String())
	w.mu.Lock()
	w.handedTo = nil
	w.mu.Unlock()
	return nil
}

// handedOverState is the container state of a process stopped because its ports were handed over to pod to.
func handedOverState(proc *process, code int, to *worker) corev1.ContainerState {
	return corev1.ContainerState{Terminated: &corev1.ContainerStateTerminated{
		ExitCode: int32(code),
		Reason:   reasonPortsHandedOver,
		Message: fmt.Sprintf("stopped for pod %s, which is newer and binds the same ports; "+
			"pods share the host's network here", to.name),
		StartedAt:  proc.started,
		FinishedAt: metav1.Now(),
	}}
}
