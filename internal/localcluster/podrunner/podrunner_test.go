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
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"

	appsv1 "k8s.io/api/apps/v1"
	corev1 "k8s.io/api/core/v1"
	rbacv1 "k8s.io/api/rbac/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	"k8s.io/apimachinery/pkg/api/resource"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/labels"
	"k8s.io/apimachinery/pkg/types"
	"k8s.io/apimachinery/pkg/util/intstr"

	"github.com/pier-dev/pier/internal/testsupport/testcreds"
)

var bg = context.Background()

// createDeployment creates a one-replica Deployment of the echoserver on port. Its rolling updates surge: the new
// pod comes before the old one goes (the defaults for one replica, said explicitly).
func createDeployment(t *testing.T, namespace, name string, port int, change func(*corev1.PodSpec)) {
	t.Helper()
	spec := echoPodSpec(port)
	if change != nil {
		change(&spec)
	}
	selector := map[string]string{"app": name}
	d := &appsv1.Deployment{
		ObjectMeta: metav1.ObjectMeta{Name: name, Namespace: namespace},
		Spec: appsv1.DeploymentSpec{
			Replicas: new(int32(1)),
			Selector: &metav1.LabelSelector{MatchLabels: selector},
			Strategy: appsv1.DeploymentStrategy{Type: appsv1.RollingUpdateDeploymentStrategyType, RollingUpdate: &appsv1.RollingUpdateDeployment{
				MaxSurge: new(intstr.FromInt32(1)), MaxUnavailable: new(intstr.FromInt32(0)),
			}},
			Template: corev1.PodTemplateSpec{ObjectMeta: metav1.ObjectMeta{Labels: selector}, Spec: spec},
		},
	}
	if _, err := k8s.AppsV1().Deployments(namespace).Create(bg, d, metav1.CreateOptions{}); err != nil {
		t.Fatal(err)
	}
}

// fieldEnv is the environment variable name holding the pod's field at path, as the downward API gives it.
func fieldEnv(name, path string) corev1.EnvVar {
	return corev1.EnvVar{Name: name, ValueFrom: &corev1.EnvVarSource{FieldRef: &corev1.ObjectFieldSelector{FieldPath: path}}}
}

// withEnv sets the environment of the pod's container.
func withEnv(vars ...corev1.EnvVar) func(*corev1.PodSpec) {
	return func(spec *corev1.PodSpec) { spec.Containers[0].Env = vars }
}

// getDeployment reads the Deployment, and whether the deployment controller calls it Available.
func getDeployment(namespace, name string) (*appsv1.Deployment, bool, error) {
	d, err := k8s.AppsV1().Deployments(namespace).Get(bg, name, metav1.GetOptions{})
	if err != nil {
		return nil, false, err
	}
	available := false
	for _, c := range d.Status.Conditions {
		available = available || (c.Type == appsv1.DeploymentAvailable && c.Status == corev1.ConditionTrue)
	}
	return d, available, nil
}

// deploymentAvailable waits for the deployment controller to call the Deployment Available, and returns its
// one ready pod.
func deploymentAvailable(t *testing.T, namespace, name string) *corev1.Pod {
	t.Helper()
	var pod *corev1.Pod
	eventually(t, "deployment "+name+" available", func() error {
		d, available, err := getDeployment(namespace, name)
		if err != nil {
			return err
		}
		if !available || d.Status.AvailableReplicas != 1 {
			return fmt.Errorf("available %v, status %+v", available, d.Status)
		}
		pods, err := k8s.CoreV1().Pods(namespace).List(bg, metav1.ListOptions{
			LabelSelector: labels.SelectorFromSet(d.Spec.Selector.MatchLabels).String(),
		})
		if err != nil {
			return err
		}
		var ready []corev1.Pod
		for _, p := range pods.Items {
			if isReady(&p) && p.DeletionTimestamp == nil {
				ready = append(ready, p)
			}
		}
		if len(ready) != 1 {
			return fmt.Errorf("%d ready pods, want 1", len(ready))
		}
		pod = &ready[0]
		return nil
	})
	return pod
}

func TestDeploymentBecomesAvailable(t *testing.T) {
	ns := env.Namespace(t)
	r := startRunner(t, ns)
	port := testcreds.FreePort(t)
	createDeployment(t, ns, "web", port, withEnv(
		corev1.EnvVar{Name: "GREETING", Value: "hello"},
		podNameEnv,
		fieldEnv("POD_NAMESPACE", "metadata.namespace"),
		fieldEnv("POD_IP", "status.podIP"),
	))
	pod := deploymentAvailable(t, ns, "web")

	if pod.Spec.NodeName != "pier-local" || pod.Status.PodIP != "127.0.0.1" || pod.Status.HostIP != "127.0.0.1" {
		t.Errorf("node %q, pod IP %q, host IP %q; want pier-local, 127.0.0.1, 127.0.0.1",
			pod.Spec.NodeName, pod.Status.PodIP, pod.Status.HostIP)
	}
	if cs := pod.Status.ContainerStatuses; len(cs) != 1 || cs[0].State.Running == nil || !cs[0].Ready || cs[0].RestartCount != 0 {
		t.Errorf("container statuses %+v, want one running, ready, never restarted", cs)
	}
	node, err := k8s.CoreV1().Nodes().Get(bg, "pier-local", metav1.GetOptions{})
	if err != nil {
		t.Fatal(err)
	}
	if len(node.Status.Conditions) == 0 || node.Status.Conditions[0].Status != corev1.ConditionTrue {
		t.Errorf("node conditions %+v, want Ready", node.Status.Conditions)
	}
	if got, want := r.Running(), []types.NamespacedName{{Namespace: ns, Name: pod.Name}}; !slices.Equal(got, want) {
		t.Errorf("Running() = %v, want %v", got, want)
	}

	got := getInfo(t, port)
	for _, want := range []string{
		"GREETING=hello", "POD_NAME=" + pod.Name, "POD_NAMESPACE=" + ns, "POD_IP=127.0.0.1", "HOSTNAME=" + pod.Name,
	} {
		if !slices.Contains(got.Env, want) {
			t.Errorf("environment %q lacks %s", got.Env, want)
		}
	}
	if got.Hostname != pod.Name {
		t.Errorf("host name %q, want the pod's name %q", got.Hostname, pod.Name)
	}
}

func TestDeletedPodIsReplaced(t *testing.T) {
	ns := env.Namespace(t)
	r := startRunner(t, ns)
	port := testcreds.FreePort(t)
	createDeployment(t, ns, "web", port, withEnv(podNameEnv))
	old := deploymentAvailable(t, ns, "web")

	if err := k8s.CoreV1().Pods(ns).Delete(bg, old.Name, metav1.DeleteOptions{}); err != nil {
		t.Fatal(err)
	}
	// The runner stops the process, then makes the final delete that removes the pod from the API.
	eventually(t, "the deleted pod gone from the API", func() error {
		_, err := k8s.CoreV1().Pods(ns).Get(bg, old.Name, metav1.GetOptions{})
		if apierrors.IsNotFound(err) {
			return nil
		}
		return fmt.Errorf("still there (%w)", err)
	})
	log, err := os.ReadFile(filepath.Join(r.stateDir, "pods", string(old.UID), "echo.log"))
	if err != nil || !strings.Contains(string(log), "got SIGTERM") {
		t.Errorf("the old pod's log does not say it got SIGTERM: %q, %v", log, err)
	}
	if _, err := os.Stat(filepath.Join(r.stateDir, "pods", string(old.UID), "rootfs")); !errors.Is(err, os.ErrNotExist) {
		t.Errorf("the old pod's root folder is still there: %v", err)
	}

	replacement := deploymentAvailable(t, ns, "web")
	if replacement.UID == old.UID {
		t.Fatal("the replacement is the old pod")
	}
	eventually(t, "the replacement serving", func() error {
		body, err := get(port, "/info")
		if err != nil {
			return err
		}
		if !strings.Contains(body, "POD_NAME="+replacement.Name) {
			return fmt.Errorf("served by another pod: %s", body)
		}
		return nil
	})
	if got, want := r.Running(), []types.NamespacedName{{Namespace: ns, Name: replacement.Name}}; !slices.Equal(got, want) {
		t.Errorf("Running() = %v, want %v", got, want)
	}
}

func TestSecurityContext(t *testing.T) {
	ns := env.Namespace(t)
	startRunner(t, ns)
	env.CreateSecret(t, ns, "keys", map[string]string{"key": "secret-value"})
	port := testcreds.FreePort(t)
	spec := echoPodSpec(port)
	spec.SecurityContext = &corev1.PodSecurityContext{
		RunAsNonRoot: new(true),
		RunAsUser:    new(int64(1234)),
		RunAsGroup:   new(int64(2345)),
		FSGroup:      new(int64(3456)),
	}
	spec.Containers[0].SecurityContext = &corev1.SecurityContext{
		ReadOnlyRootFilesystem:   new(true),
		AllowPrivilegeEscalation: new(false),
	}
	spec.Volumes = []corev1.Volume{
		// Readable by its owner only: the program reads it through fsGroup, as on a node.
		{Name: "keys", VolumeSource: corev1.VolumeSource{Secret: &corev1.SecretVolumeSource{SecretName: "keys", DefaultMode: new(int32(0o400))}}},
		{Name: "scratch", VolumeSource: corev1.VolumeSource{EmptyDir: &corev1.EmptyDirVolumeSource{}}},
	}
	spec.Containers[0].VolumeMounts = []corev1.VolumeMount{
		{Name: "keys", MountPath: "/etc/keys", ReadOnly: true},
		{Name: "scratch", MountPath: "/scratch"},
	}
	createPod(t, ns, "secure", spec)
	podReady(t, ns, "secure")

	got := getInfo(t, port)
	if got.UID != 1234 || got.GID != 2345 {
		t.Errorf("uid %d gid %d, want 1234 2345", got.UID, got.GID)
	}
	if os.Geteuid() == 0 {
		if !slices.Contains(got.Groups, 3456) {
			t.Errorf("groups %v lack fsGroup 3456", got.Groups)
		}
	} else {
		t.Logf("not root: fsGroup is not a real group in the user namespace (groups %v)", got.Groups)
	}
	if !strings.Contains(got.RootWriteError, "read-only file system") {
		t.Errorf("writing to / gave %q, want a read-only file system error", got.RootWriteError)
	}
	if body, err := get(port, "/file?path=/etc/keys/key"); err != nil || body != "secret-value" {
		t.Errorf("the Secret's file: %q, %v", body, err)
	}
	if _, err := get(port, "/write?path=/etc/keys/new&data=x"); err == nil {
		t.Error("the Secret volume is writable")
	}
	if _, err := get(port, "/write?path=/scratch/file&data=x"); err != nil {
		t.Errorf("writing to the emptyDir: %v", err)
	}
}

func TestSecretVolumeFollowsTheSecret(t *testing.T) {
	ns := env.Namespace(t)
	startRunner(t, ns)
	env.CreateSecret(t, ns, "config", map[string]string{"config.yaml": "version: 1"})
	port := testcreds.FreePort(t)
	spec := echoPodSpec(port)
	spec.Volumes = []corev1.Volume{{Name: "config", VolumeSource: corev1.VolumeSource{Secret: &corev1.SecretVolumeSource{SecretName: "config"}}}}
	spec.Containers[0].VolumeMounts = []corev1.VolumeMount{{Name: "config", MountPath: "/etc/config", ReadOnly: true}}
	createPod(t, ns, "reader", spec)
	podReady(t, ns, "reader")
	if body, err := get(port, "/file?path=/etc/config/config.yaml"); err != nil || body != "version: 1" {
		t.Fatalf("before the change: %q, %v", body, err)
	}

	secret, err := k8s.CoreV1().Secrets(ns).Get(bg, "config", metav1.GetOptions{})
	if err != nil {
		t.Fatal(err)
	}
	secret.Data = map[string][]byte{"config.yaml": []byte("version: 2"), "extra.yaml": []byte("more")}
	if _, err := k8s.CoreV1().Secrets(ns).Update(bg, secret, metav1.UpdateOptions{}); err != nil {
		t.Fatal(err)
	}
	// The same paths show the new content: the running process is not restarted.
	eventually(t, "the new content through the same path", func() error {
		for file, want := range map[string]string{"config.yaml": "version: 2", "extra.yaml": "more"} {
			if body, err := get(port, "/file?path=/etc/config/"+file); err != nil || body != want {
				return fmt.Errorf("%s: %q, %w", file, body, err)
			}
		}
		return nil
	})
	pod, err := k8s.CoreV1().Pods(ns).Get(bg, "reader", metav1.GetOptions{})
	if err != nil {
		t.Fatal(err)
	}
	if n := pod.Status.ContainerStatuses[0].RestartCount; n != 0 {
		t.Errorf("restart count %d, want 0", n)
	}
}

func TestMissingSecretWaits(t *testing.T) {
	ns := env.Namespace(t)
	startRunner(t, ns)
	port := testcreds.FreePort(t)
	spec := echoPodSpec(port)
	spec.Volumes = []corev1.Volume{{Name: "config", VolumeSource: corev1.VolumeSource{Secret: &corev1.SecretVolumeSource{SecretName: "later"}}}}
	spec.Containers[0].VolumeMounts = []corev1.VolumeMount{{Name: "config", MountPath: "/etc/config"}}
	createPod(t, ns, "waiting", spec)

	eventually(t, "the pod waiting for its Secret", func() error {
		pod, err := k8s.CoreV1().Pods(ns).Get(bg, "waiting", metav1.GetOptions{})
		if err != nil {
			return err
		}
		if len(pod.Status.ContainerStatuses) != 1 || pod.Status.ContainerStatuses[0].State.Waiting == nil {
			return fmt.Errorf("container statuses %+v", pod.Status.ContainerStatuses)
		}
		w := pod.Status.ContainerStatuses[0].State.Waiting
		if pod.Status.Phase != corev1.PodPending || w.Reason != "ContainerCreating" || !strings.Contains(w.Message, `secret "later" not found`) {
			return fmt.Errorf("phase %s, waiting %+v", pod.Status.Phase, w)
		}
		return nil
	})

	env.CreateSecret(t, ns, "later", map[string]string{"a": "b"})
	podReady(t, ns, "waiting")
}

func TestServiceAccountToken(t *testing.T) {
	ns := env.Namespace(t)
	startRunner(t, ns)
	sa := &corev1.ServiceAccount{ObjectMeta: metav1.ObjectMeta{Name: "reader", Namespace: ns}}
	if _, err := k8s.CoreV1().ServiceAccounts(ns).Create(bg, sa, metav1.CreateOptions{}); err != nil {
		t.Fatal(err)
	}
	// Something only this ServiceAccount may read, to show the token acts as it.
	role := &rbacv1.Role{
		ObjectMeta: metav1.ObjectMeta{Name: "read-pods", Namespace: ns},
		Rules:      []rbacv1.PolicyRule{{APIGroups: []string{""}, Resources: []string{"pods"}, Verbs: []string{"get", "list"}}},
	}
	binding := &rbacv1.RoleBinding{
		ObjectMeta: metav1.ObjectMeta{Name: "read-pods", Namespace: ns},
		RoleRef:    rbacv1.RoleRef{APIGroup: "rbac.authorization.k8s.io", Kind: "Role", Name: "read-pods"},
		Subjects:   []rbacv1.Subject{{Kind: "ServiceAccount", Name: "reader", Namespace: ns}},
	}
	if _, err := k8s.RbacV1().Roles(ns).Create(bg, role, metav1.CreateOptions{}); err != nil {
		t.Fatal(err)
	}
	if _, err := k8s.RbacV1().RoleBindings(ns).Create(bg, binding, metav1.CreateOptions{}); err != nil {
		t.Fatal(err)
	}
	port := testcreds.FreePort(t)
	spec := echoPodSpec(port)
	spec.ServiceAccountName = "reader"
	spec.AutomountServiceAccountToken = nil // the default: mounted
	createPod(t, ns, "client", spec)
	podReady(t, ns, "client")

	// The program finds the API server and its credentials as any in-cluster client does.
	if body, err := get(port, "/whoami"); err != nil || body != "system:serviceaccount:"+ns+":reader" {
		t.Errorf("whoami: %q, %v", body, err)
	}
	if body, err := get(port, "/file?path=/var/run/secrets/kubernetes.io/serviceaccount/namespace"); err != nil || body != ns {
		t.Errorf("namespace file: %q, %v", body, err)
	}
	token, err := get(port, "/file?path=/var/run/secrets/kubernetes.io/serviceaccount/token")
	if err != nil {
		t.Fatal(err)
	}
	// The token authenticates as the ServiceAccount for anyone holding it, with its permissions.
	review, err := k8s.AuthenticationV1().TokenReviews().Create(bg, tokenReview(token), metav1.CreateOptions{})
	if err != nil {
		t.Fatal(err)
	}
	if !review.Status.Authenticated || review.Status.User.Username != "system:serviceaccount:"+ns+":reader" {
		t.Errorf("token review: %+v", review.Status)
	}
	if pod := review.Status.User.Extra["authentication.kubernetes.io/pod-name"]; len(pod) != 1 || pod[0] != "client" {
		t.Errorf("the token is not bound to the pod: extra %v", review.Status.User.Extra)
	}
}

func TestClaimKeepsFilesAcrossPods(t *testing.T) {
	ns := env.Namespace(t)
	startRunner(t, ns)
	claim := &corev1.PersistentVolumeClaim{
		ObjectMeta: metav1.ObjectMeta{Name: "data", Namespace: ns},
		Spec: corev1.PersistentVolumeClaimSpec{
			AccessModes: []corev1.PersistentVolumeAccessMode{corev1.ReadWriteOnce},
			Resources:   corev1.VolumeResourceRequirements{Requests: corev1.ResourceList{corev1.ResourceStorage: resource.MustParse("1Gi")}},
		},
	}
	if _, err := k8s.CoreV1().PersistentVolumeClaims(ns).Create(bg, claim, metav1.CreateOptions{}); err != nil {
		t.Fatal(err)
	}
	port := testcreds.FreePort(t)
	spec := echoPodSpec(port)
	spec.SecurityContext = &corev1.PodSecurityContext{RunAsUser: new(int64(1000)), FSGroup: new(int64(1000))}
	spec.Volumes = []corev1.Volume{{Name: "data", VolumeSource: corev1.VolumeSource{
		PersistentVolumeClaim: &corev1.PersistentVolumeClaimVolumeSource{ClaimName: "data"},
	}}}
	spec.Containers[0].VolumeMounts = []corev1.VolumeMount{{Name: "data", MountPath: "/srv/data"}}

	first := createPod(t, ns, "first", spec)
	podReady(t, ns, "first")
	if _, err := get(port, "/write?path=/srv/data/kept&data=still-here"); err != nil {
		t.Fatal(err)
	}
	if err := k8s.CoreV1().Pods(ns).Delete(bg, "first", metav1.DeleteOptions{}); err != nil {
		t.Fatal(err)
	}
	eventually(t, "the first pod gone", func() error {
		_, err := k8s.CoreV1().Pods(ns).Get(bg, "first", metav1.GetOptions{})
		if apierrors.IsNotFound(err) {
			return nil
		}
		return fmt.Errorf("still there (%w)", err)
	})

	second := createPod(t, ns, "second", spec)
	podReady(t, ns, "second")
	if first.UID == second.UID {
		t.Fatal("same pod")
	}
	if body, err := get(port, "/file?path=/srv/data/kept"); err != nil || body != "still-here" {
		t.Errorf("the file written by the first pod: %q, %v", body, err)
	}
}

func TestRunStopsProcessesOnCancel(t *testing.T) {
	ns := env.Namespace(t)
	r := startRunner(t, ns)
	port := testcreds.FreePort(t)
	pod := createPod(t, ns, "short-lived", echoPodSpec(port))
	podReady(t, ns, "short-lived")
	if _, err := get(port, "/readyz"); err != nil {
		t.Fatal(err)
	}

	r.stop()
	if _, err := get(port, "/readyz"); err == nil {
		t.Error("the pod's process still serves after Run returned")
	}
	if got := r.Running(); len(got) != 0 {
		t.Errorf("Running() = %v after Run returned", got)
	}
	log, err := os.ReadFile(filepath.Join(r.stateDir, "pods", string(pod.UID), "echo.log"))
	if err != nil || !strings.Contains(string(log), "got SIGTERM") {
		t.Errorf("the pod's log does not say it got SIGTERM: %q, %v", log, err)
	}
	// Stopping the runner is not deleting pods: they stay, bound to the node, as when a kubelet stops.
	after, err := k8s.CoreV1().Pods(ns).Get(bg, "short-lived", metav1.GetOptions{})
	if err != nil {
		t.Fatalf("the pod is gone from the API: %v", err)
	}
	if after.DeletionTimestamp != nil || after.Spec.NodeName != "pier-local" {
		t.Errorf("deletion %v, node %q", after.DeletionTimestamp, after.Spec.NodeName)
	}
}

func TestCrashedContainerRestarts(t *testing.T) {
	ns := env.Namespace(t)
	startRunner(t, ns)
	port := testcreds.FreePort(t)
	createPod(t, ns, "crasher", echoPodSpec(port))
	podReady(t, ns, "crasher")

	_, _ = get(port, "/exit?code=3") // the connection breaks as the process exits
	eventually(t, "the container restarted", func() error {
		pod, err := k8s.CoreV1().Pods(ns).Get(bg, "crasher", metav1.GetOptions{})
		if err != nil {
			return err
		}
		cs := pod.Status.ContainerStatuses[0]
		if cs.RestartCount != 1 || !cs.Ready || cs.LastTerminationState.Terminated == nil {
			return fmt.Errorf("container status %+v", cs)
		}
		if code := cs.LastTerminationState.Terminated.ExitCode; code != 3 {
			return fmt.Errorf("last exit code %d, want 3", code)
		}
		return nil
	})
}

func TestRefusesWhatItCannotRun(t *testing.T) {
	ns := env.Namespace(t)
	startRunner(t, ns)

	two := echoPodSpec(testcreds.FreePort(t))
	two.Containers = append(two.Containers, corev1.Container{Name: "sidecar", Image: echoImage})
	createPod(t, ns, "two-containers", two)

	rootSpec := echoPodSpec(testcreds.FreePort(t))
	rootSpec.SecurityContext = &corev1.PodSecurityContext{RunAsNonRoot: new(true)}
	createPod(t, ns, "no-user", rootSpec)

	missing := echoPodSpec(testcreds.FreePort(t))
	missing.Containers[0].Command = []string{"/missing"}
	createPod(t, ns, "missing-command", missing)

	eventually(t, "the pods explain why they do not run", func() error {
		pod, err := k8s.CoreV1().Pods(ns).Get(bg, "two-containers", metav1.GetOptions{})
		if err != nil {
			return err
		}
		if pod.Status.Phase != corev1.PodPending || !strings.Contains(pod.Status.Message, "exactly one container") {
			return fmt.Errorf("two-containers: phase %s, message %q", pod.Status.Phase, pod.Status.Message)
		}
		pod, err = k8s.CoreV1().Pods(ns).Get(bg, "no-user", metav1.GetOptions{})
		if err != nil {
			return err
		}
		if cs := pod.Status.ContainerStatuses; len(cs) != 1 || cs[0].State.Waiting == nil ||
			cs[0].State.Waiting.Reason != "CreateContainerConfigError" || !strings.Contains(cs[0].State.Waiting.Message, "runAsNonRoot") {
			return fmt.Errorf("no-user: container statuses %+v", cs)
		}
		// The init reports that exec failed, and the kubelet's usual back-off follows.
		pod, err = k8s.CoreV1().Pods(ns).Get(bg, "missing-command", metav1.GetOptions{})
		if err != nil {
			return err
		}
		if cs := pod.Status.ContainerStatuses; len(cs) != 1 || cs[0].LastTerminationState.Terminated == nil ||
			cs[0].LastTerminationState.Terminated.Reason != "StartError" ||
			!strings.Contains(cs[0].LastTerminationState.Terminated.Message, "exec /missing: no such file or directory") ||
			cs[0].State.Waiting == nil || cs[0].State.Waiting.Reason != "CrashLoopBackOff" {
			return fmt.Errorf("missing-command: container statuses %+v", cs)
		}
		return nil
	})
}
