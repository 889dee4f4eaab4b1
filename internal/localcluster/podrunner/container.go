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
	"errors"
	"fmt"
	"os"
	"path"
	"path/filepath"
	"slices"
	"strings"

	corev1 "k8s.io/api/core/v1"
)

// initSpec is what the init (see Init) does before it execs the container's program. The runner writes it as
// JSON into the pod's folder.
type initSpec struct {
	Rootfs       string      // the container's root folder on the host
	Mounts       []mountSpec // in order; targets are paths inside the root
	ReadOnlyRoot bool
	Hostname     string
	UID, GID     int
	Groups       []int // supplementary groups; nil leaves them alone (user namespaces deny setgroups)
	NoNewPrivs   bool
	Dir          string // working directory inside the root
	Argv, Env    []string
}

type mountSpec struct {
	Source, Target string
	ReadOnly       bool
}

// reasonConfigError is the waiting reason of a container whose spec podrunner cannot follow, as the kubelet's.
const reasonConfigError = "CreateContainerConfigError"

// defaultPath is the PATH of a typical image; the kubelet takes it from the image, which we do not have.
const defaultPath = "/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin"

// prepare builds everything the container's process needs: its volumes on the host, its root folder and the
// init's spec. On error, reason is the container's waiting reason, as a kubelet would report it.
func (w *worker) prepare(ctx context.Context, pod *corev1.Pod) (spec *initSpec, reason string, err error) {
	c := &pod.Spec.Containers[0]
	img, ok := w.r.opts.Images[c.Image]
	if !ok {
		return nil, "ErrImagePull", fmt.Errorf("image %q is not one of the podrunner's Images", c.Image)
	}
	spec = &initSpec{Rootfs: filepath.Join(w.dir, "rootfs"), Hostname: hostname(pod), Dir: c.WorkingDir}
	if spec.Dir == "" {
		spec.Dir = "/"
	}
	if err := securityContext(pod, c, spec); err != nil {
		return nil, reasonConfigError, err
	}
	if spec.Env, err = w.env(pod, c); err != nil {
		return nil, reasonConfigError, err
	}
	// As in Kubernetes, command replaces the image's entrypoint and args its arguments (the images have none).
	spec.Argv = append(slices.Clone(c.Command), c.Args...)
	if len(c.Command) == 0 {
		spec.Argv = append([]string{img.Entrypoint}, c.Args...)
	}
	if !path.IsAbs(spec.Argv[0]) {
		return nil, reasonConfigError, fmt.Errorf("command %q: podrunner needs an absolute path", spec.Argv[0])
	}

	volumes, err := w.setUpVolumes(ctx, pod, false)
	if err != nil {
		return nil, "ContainerCreating", err
	}
	spec.Mounts = []mountSpec{
		{Source: img.Binary, Target: img.Entrypoint, ReadOnly: true},
		// Go programs, among others, may open /dev/null.
		{Source: os.DevNull, Target: "/dev/null"},
	}
	for _, m := range c.VolumeMounts {
		v, ok := volumes[m.Name]
		switch {
		case !ok:
			return nil, reasonConfigError, fmt.Errorf("volume mount %q: the pod has no such volume", m.Name)
		case m.SubPath != "" || m.SubPathExpr != "":
			return nil, reasonConfigError, fmt.Errorf("volume mount %q: podrunner does not support subPath", m.Name)
		}
		spec.Mounts = append(spec.Mounts, mountSpec{Source: v.dir, Target: m.MountPath, ReadOnly: m.ReadOnly || v.readOnly})
	}
	if v, ok := volumes[serviceAccountVolume]; ok {
		spec.Mounts = append(spec.Mounts, mountSpec{Source: v.dir, Target: serviceAccountPath, ReadOnly: true})
	}
	if err := makeRootfs(spec); err != nil {
		return nil, "RunContainerError", err
	}
	return spec, "", nil
}

// makeRootfs makes a fresh root folder holding only the mount points and /tmp. Fresh, because a restarted
// container starts from its image again: what the last process wrote to its root is gone.
func makeRootfs(spec *initSpec) error {
	root := spec.Rootfs
	if err := os.RemoveAll(root); err != nil {
		return fmt.Errorf("removing the old root folder: %w", err)
	}
	if err := os.MkdirAll(root, 0o755); err != nil {
		return fmt.Errorf("creating the root folder: %w", err)
	}
	tmp := filepath.Join(root, "tmp")
	if err := errors.Join(os.Mkdir(tmp, 0o755), os.Chmod(root, 0o755), os.Chmod(tmp, os.ModeSticky|0o777)); err != nil {
		return fmt.Errorf("creating the root folder: %w", err)
	}
	for _, m := range spec.Mounts {
		target := filepath.Join(root, m.Target)
		if !strings.HasPrefix(target, root+string(filepath.Separator)) {
			return fmt.Errorf("mount path %q is outside the container", m.Target)
		}
		fi, err := os.Stat(m.Source)
		if err != nil {
			return fmt.Errorf("mount source: %w", err)
		}
		// A mount point must be of the same kind as what is mounted on it.
		if fi.IsDir() {
			err = os.MkdirAll(target, 0o755)
		} else if err = os.MkdirAll(filepath.Dir(target), 0o755); err == nil {
			err = os.WriteFile(target, nil, 0o755)
		}
		if err != nil {
			return fmt.Errorf("creating mount point %s: %w", m.Target, err)
		}
	}
	return nil
}

// securityContext fills in the users and restrictions of the pod's and container's security contexts; the
// container's settings win.
func securityContext(pod *corev1.Pod, c *corev1.Container, spec *initSpec) error {
	psc := pod.Spec.SecurityContext
	if psc == nil {
		psc = &corev1.PodSecurityContext{}
	}
	csc := c.SecurityContext
	if csc == nil {
		csc = &corev1.SecurityContext{}
	}
	// Without runAsUser the image's user would run; ours have no metadata, so that is root.
	uid := first(csc.RunAsUser, psc.RunAsUser)
	if nonRoot := first(csc.RunAsNonRoot, psc.RunAsNonRoot); nonRoot && uid == 0 {
		return fmt.Errorf("container has runAsNonRoot and image will run as root (pod: %q, container: %s)",
			pod.Name, c.Name)
	}
	spec.UID, spec.GID = int(uid), int(first(csc.RunAsGroup, psc.RunAsGroup))
	spec.Groups = []int{}
	for _, g := range psc.SupplementalGroups {
		spec.Groups = append(spec.Groups, int(g))
	}
	if psc.FSGroup != nil {
		spec.Groups = append(spec.Groups, int(*psc.FSGroup))
	}
	spec.ReadOnlyRoot = first(csc.ReadOnlyRootFilesystem)
	spec.NoNewPrivs = csc.AllowPrivilegeEscalation != nil && !*csc.AllowPrivilegeEscalation
	return nil
}

// first is the first value that is set, or T's zero value.
func first[T any](values ...*T) T {
	for _, v := range values {
		if v != nil {
			return *v
		}
	}
	var zero T
	return zero
}

// env is the container's environment: what a kubelet sets, then the container's env, where a later variable of
// the same name wins.
func (w *worker) env(pod *corev1.Pod, c *corev1.Container) ([]string, error) {
	if len(c.EnvFrom) > 0 {
		return nil, errors.New("podrunner does not support envFrom")
	}
	vars := []corev1.EnvVar{
		{Name: "PATH", Value: defaultPath},
		{Name: "HOSTNAME", Value: hostname(pod)},
		{Name: "KUBERNETES_SERVICE_HOST", Value: w.r.apiHost},
		{Name: "KUBERNETES_SERVICE_PORT", Value: w.r.apiPort},
	}
	for _, e := range c.Env {
		if e.ValueFrom != nil {
			if e.ValueFrom.FieldRef == nil {
				return nil, fmt.Errorf("env %s: podrunner supports valueFrom.fieldRef only", e.Name)
			}
			value, err := fieldValue(pod, e.ValueFrom.FieldRef.FieldPath)
			if err != nil {
				return nil, fmt.Errorf("env %s: %w", e.Name, err)
			}
			e.Value = value
		}
		vars = append(vars, corev1.EnvVar{Name: e.Name, Value: e.Value})
	}
	var env []string
	index := map[string]int{}
	for _, v := range vars {
		if i, ok := index[v.Name]; ok {
			env[i] = v.Name + "=" + v.Value
			continue
		}
		index[v.Name] = len(env)
		env = append(env, v.Name+"="+v.Value)
	}
	return env, nil
}

// fieldValue is the downward API's value of a pod field.
func fieldValue(pod *corev1.Pod, fieldPath string) (string, error) {
	switch fieldPath {
	case "metadata.name":
		return pod.Name, nil
	case "metadata.namespace":
		return pod.Namespace, nil
	case "metadata.uid":
		return string(pod.UID), nil
	case "spec.nodeName":
		return pod.Spec.NodeName, nil
	case "spec.serviceAccountName":
		return pod.Spec.ServiceAccountName, nil
	case "status.podIP", "status.podIPs", "status.hostIP", "status.hostIPs":
		return podIP, nil
	}
	for prefix, values := range map[string]map[string]string{
		"metadata.labels['": pod.Labels, "metadata.annotations['": pod.Annotations,
	} {
		if key, ok := strings.CutPrefix(fieldPath, prefix); ok && strings.HasSuffix(key, "']") {
			return values[strings.TrimSuffix(key, "']")], nil
		}
	}
	return "", fmt.Errorf("podrunner does not support fieldRef %q", fieldPath)
}

// hostname is the pod's host name: spec.hostname or its name, cut to 63 characters like the kubelet does.
func hostname(pod *corev1.Pod) string {
	name := pod.Spec.Hostname
	if name == "" {
		name = pod.Name
	}
	if len(name) > 63 {
		name = strings.TrimRight(name[:63], "-.")
	}
	return name
}
