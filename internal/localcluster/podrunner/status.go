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
	"crypto/tls"
	"fmt"
	"net"
	"net/http"
	"strconv"
	"strings"
	"time"

	corev1 "k8s.io/api/core/v1"
	"k8s.io/apimachinery/pkg/api/equality"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/util/intstr"
	"k8s.io/client-go/util/retry"
)

// The pod conditions a kubelet owns; others (DisruptionTarget, ...) are left as the API has them.
var ownConditions = []corev1.PodConditionType{
	corev1.PodScheduled, corev1.PodInitialized, corev1.ContainersReady, corev1.PodReady,
}

// status is the pod's status as the worker knows it. It is built only from the worker's state, with times set
// when something changes, so two calls without a change in between return equal statuses.
func (w *worker) status(pod *corev1.Pod) corev1.PodStatus {
	w.mu.Lock()
	running := w.proc != nil && !w.proc.exited()
	ready := running && w.ready && !w.proc.stopping
	pid := 0
	if running {
		pid = w.proc.cmd.Process.Pid
	}
	w.mu.Unlock()

	phase := corev1.PodPending
	switch {
	case w.finished && w.state.Terminated.ExitCode == 0:
		phase = corev1.PodSucceeded
	case w.finished:
		phase = corev1.PodFailed
	case w.starts > 0:
		phase = corev1.PodRunning // running, or restarting after an exit
	}
	names := make([]string, 0, len(pod.Spec.Containers))
	for _, c := range pod.Spec.Containers {
		names = append(names, c.Name)
	}
	notReady := fmt.Sprintf("containers with unready status: [%s]", strings.Join(names, " "))
	if ready {
		notReady = ""
	}
	status := corev1.PodStatus{
		Phase:     phase,
		HostIP:    podIP,
		HostIPs:   []corev1.HostIP{{IP: podIP}},
		PodIP:     podIP,
		PodIPs:    []corev1.PodIP{{IP: podIP}},
		StartTime: w.startTime,
		QOSClass:  pod.Status.QOSClass,
		Conditions: []corev1.PodCondition{
			w.condition(corev1.PodScheduled, true, ""),
			w.condition(corev1.PodInitialized, true, ""),
			w.condition(corev1.ContainersReady, ready, notReady),
			w.condition(corev1.PodReady, ready, notReady),
		},
	}
	if w.problem != "" {
		status.Reason, status.Message = "Unsupported", w.problem
		for _, c := range pod.Spec.Containers {
			status.ContainerStatuses = append(status.ContainerStatuses, corev1.ContainerStatus{
				Name: c.Name, Image: c.Image, State: waiting("Unsupported", w.problem),
			})
		}
		return status
	}
	c := pod.Spec.Containers[0]
	cs := corev1.ContainerStatus{
		Name:                 c.Name,
		Image:                c.Image,
		ImageID:              c.Image,
		State:                w.state,
		LastTerminationState: w.lastState,
		Ready:                ready,
		RestartCount:         int32(max(w.starts-1, 0)),
		Started:              &running,
	}
	if w.state.Waiting == nil && w.state.Running == nil && w.state.Terminated == nil {
		cs.State = waiting("ContainerCreating", "")
	}
	if running {
		cs.ContainerID = "podrunner://" + strconv.Itoa(pid)
	}
	status.ContainerStatuses = []corev1.ContainerStatus{cs}
	return status
}

// condition returns the condition, keeping its transition time while its status stays the same.
func (w *worker) condition(typ corev1.PodConditionType, ok bool, message string) corev1.PodCondition {
	status, reason := corev1.ConditionTrue, ""
	if !ok {
		status, reason = corev1.ConditionFalse, "ContainersNotReady"
	}
	c, seen := w.conditions[typ]
	if !seen || c.Status != status {
		c = corev1.PodCondition{Type: typ, Status: status, LastTransitionTime: metav1.Now()}
	}
	c.Reason, c.Message = reason, message
	w.conditions[typ] = c
	return c
}

// writeStatus writes the pod's status when it differs from what was last written.
func (w *worker) writeStatus(ctx context.Context, pod *corev1.Pod) {
	want := w.status(pod)
	if w.written != nil && equality.Semantic.DeepEqual(*w.written, want) {
		return
	}
	pods := w.r.client.CoreV1().Pods(pod.Namespace)
	err := retry.RetryOnConflict(retry.DefaultRetry, func() error {
		cur, err := pods.Get(ctx, pod.Name, metav1.GetOptions{})
		if err != nil || cur.UID != w.uid {
			return err
		}
		status := want.DeepCopy()
		for _, c := range cur.Status.Conditions {
			if !containsCondition(ownConditions, c.Type) {
				status.Conditions = append(status.Conditions, c)
			}
		}
		status.QOSClass = cur.Status.QOSClass
		cur.Status = *status
		_, err = pods.UpdateStatus(ctx, cur, metav1.UpdateOptions{})
		return err
	})
	if err != nil {
		if !apierrors.IsNotFound(err) && ctx.Err() == nil {
			w.log.Warn("writing the pod's status", "error", err)
			w.wakeBy(time.Now().Add(retryEvery))
		}
		return
	}
	w.written = &want
}

func containsCondition(types []corev1.PodConditionType, t corev1.PodConditionType) bool {
	for _, c := range types {
		if c == t {
			return true
		}
	}
	return false
}

// probe runs the container's readiness probe on proc until it exits, and sets w.ready as the probe's thresholds
// say: ready after successThreshold successes in a row, not ready after failureThreshold failures in a row.
func (w *worker) probe(ctx context.Context, proc *process, c *corev1.Container) {
	p := c.ReadinessProbe
	period := seconds(p.PeriodSeconds, 10)
	timeout := seconds(p.TimeoutSeconds, 1)
	successThreshold, failureThreshold := max(p.SuccessThreshold, 1), p.FailureThreshold
	if failureThreshold <= 0 {
		failureThreshold = 3
	}
	client := &http.Client{Timeout: timeout, Transport: &http.Transport{
		// Like the kubelet: HTTPS probes do not check the certificate, and every probe is a new connection.
		TLSClientConfig:   &tls.Config{InsecureSkipVerify: true}, //nolint:gosec // a probe, not a client
		DisableKeepAlives: true,
	}}
	wait := time.Duration(p.InitialDelaySeconds) * time.Second
	var successes, failures int32
	for {
		select {
		case <-ctx.Done():
			return
		case <-time.After(wait):
		}
		wait = period
		err := check(ctx, client, p, c, timeout)
		if err == nil {
			successes, failures = successes+1, 0
		} else {
			successes, failures = 0, failures+1
		}
		w.mu.Lock()
		before := w.ready
		if w.proc == proc {
			if successes >= successThreshold {
				w.ready = true
			} else if failures >= failureThreshold {
				w.ready = false
			}
		}
		changed := w.ready != before
		w.mu.Unlock()
		if changed {
			w.log.Info("readiness changed", "ready", !before, "probeError", err)
			w.poke()
		}
	}
}

// check probes once.
func check(ctx context.Context, client *http.Client, p *corev1.Probe, c *corev1.Container, timeout time.Duration) error {
	switch {
	case p.HTTPGet != nil:
		port, err := containerPort(p.HTTPGet.Port, c)
		if err != nil {
			return err
		}
		scheme := strings.ToLower(string(p.HTTPGet.Scheme))
		if scheme == "" {
			scheme = "http"
		}
		host := p.HTTPGet.Host
		if host == "" {
			host = podIP
		}
		path := p.HTTPGet.Path
		if !strings.HasPrefix(path, "/") {
			path = "/" + path
		}
		req, err := http.NewRequestWithContext(ctx, http.MethodGet,
			scheme+"://"+net.JoinHostPort(host, strconv.Itoa(port))+path, nil)
		if err != nil {
			return err
		}
		for _, h := range p.HTTPGet.HTTPHeaders {
			req.Header.Add(h.Name, h.Value)
		}
		resp, err := client.Do(req)
		if err != nil {
			return err
		}
		_ = resp.Body.Close()
		if resp.StatusCode < 200 || resp.StatusCode >= 400 {
			return fmt.Errorf("HTTP probe failed with status %d", resp.StatusCode)
		}
		return nil
	case p.TCPSocket != nil:
		port, err := containerPort(p.TCPSocket.Port, c)
		if err != nil {
			return err
		}
		host := p.TCPSocket.Host
		if host == "" {
			host = podIP
		}
		conn, err := net.DialTimeout("tcp", net.JoinHostPort(host, strconv.Itoa(port)), timeout)
		if err != nil {
			return err
		}
		return conn.Close()
	}
	return fmt.Errorf("podrunner supports httpGet and tcpSocket probes only")
}

// containerPort resolves a probe's port, a number or the name of one of the container's ports.
func containerPort(port intstr.IntOrString, c *corev1.Container) (int, error) {
	if port.Type == intstr.Int {
		return port.IntValue(), nil
	}
	for _, p := range c.Ports {
		if p.Name == port.StrVal {
			return int(p.ContainerPort), nil
		}
	}
	return 0, fmt.Errorf("the container has no port named %q", port.StrVal)
}

// seconds is n seconds, or def seconds when n is not set.
func seconds(n, def int32) time.Duration {
	if n <= 0 {
		n = def
	}
	return time.Duration(n) * time.Second
}
