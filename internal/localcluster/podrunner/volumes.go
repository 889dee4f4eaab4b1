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
	"io/fs"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"time"

	authenticationv1 "k8s.io/api/authentication/v1"
	corev1 "k8s.io/api/core/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
)

const (
	// serviceAccountVolume names the service account folder among the pod's volumes. It is not a valid volume
	// name, so it cannot clash with one.
	serviceAccountVolume = "..serviceaccount"
	serviceAccountPath   = "/var/run/secrets/kubernetes.io/serviceaccount"
	// tokenSeconds is the life of the tokens requested; they are renewed at 80% of it, as the kubelet does.
	tokenSeconds = 3600
)

// hostVolume is a volume's folder on the host.
type hostVolume struct {
	dir      string
	readOnly bool // mounted read-only whatever the volume mount says
}

// setUpVolumes makes every volume of the pod exist on the host and returns their folders by volume name. With
// refresh, only the volumes that follow API objects are updated: Secrets, ConfigMaps and the token.
func (w *worker) setUpVolumes(ctx context.Context, pod *corev1.Pod, refresh bool) (map[string]hostVolume, error) {
	fsGroup := -1
	if sc := pod.Spec.SecurityContext; sc != nil && sc.FSGroup != nil {
		fsGroup = int(*sc.FSGroup)
	}
	volumes := map[string]hostVolume{}
	for _, v := range pod.Spec.Volumes {
		if refresh && v.Secret == nil && v.ConfigMap == nil {
			continue
		}
		dir := filepath.Join(w.dir, "volumes", v.Name)
		readOnly := true
		var err error
		switch {
		case v.Secret != nil:
			err = w.secretVolume(pod.Namespace, v.Secret, dir, fsGroup)
		case v.ConfigMap != nil:
			err = w.configMapVolume(pod.Namespace, v.ConfigMap, dir, fsGroup)
		case v.EmptyDir != nil:
			readOnly, err = false, newSharedDir(dir, fsGroup)
		case v.PersistentVolumeClaim != nil:
			// The claim's folder is the same for every pod that mounts it: that is what a claim is for.
			claim := v.PersistentVolumeClaim.ClaimName
			dir = filepath.Join(w.r.opts.StateDir, "volumes", pod.Namespace, claim)
			readOnly = v.PersistentVolumeClaim.ReadOnly
			err = w.claimVolume(ctx, pod.Namespace, claim, dir, fsGroup)
		default:
			err = errors.New("podrunner supports secret, configMap, emptyDir and persistentVolumeClaim volumes only")
		}
		if err != nil {
			return nil, fmt.Errorf("MountVolume.SetUp failed for volume %q: %w", v.Name, err)
		}
		volumes[v.Name] = hostVolume{dir: dir, readOnly: readOnly}
	}
	if mount, err := w.mountsServiceAccount(ctx, pod, refresh); err != nil {
		return nil, err
	} else if mount {
		dir := filepath.Join(w.dir, "volumes", serviceAccountVolume)
		if err := w.serviceAccountVolume(ctx, pod, dir, fsGroup); err != nil {
			return nil, fmt.Errorf("MountVolume.SetUp failed for the service account token: %w", err)
		}
		volumes[serviceAccountVolume] = hostVolume{dir: dir, readOnly: true}
	}
	return volumes, nil
}

// mountsServiceAccount says whether the pod gets a service account token, as the ServiceAccount admission plugin
// decides (it is off in envtest): the pod's automountServiceAccountToken, else the ServiceAccount's, else yes;
// and not when the container mounts something else at the token's path.
func (w *worker) mountsServiceAccount(ctx context.Context, pod *corev1.Pod, refresh bool) (bool, error) {
	if refresh {
		return !w.tokenDue.IsZero(), nil
	}
	for _, m := range pod.Spec.Containers[0].VolumeMounts {
		if filepath.Clean(m.MountPath) == serviceAccountPath {
			return false, nil
		}
	}
	if pod.Spec.AutomountServiceAccountToken != nil {
		return *pod.Spec.AutomountServiceAccountToken, nil
	}
	sa, err := w.r.client.CoreV1().ServiceAccounts(pod.Namespace).Get(ctx, serviceAccountName(pod), metav1.GetOptions{})
	if err != nil {
		return false, fmt.Errorf("reading the pod's service account: %w", err)
	}
	return sa.AutomountServiceAccountToken == nil || *sa.AutomountServiceAccountToken, nil
}

func serviceAccountName(pod *corev1.Pod) string {
	if pod.Spec.ServiceAccountName == "" {
		return "default"
	}
	return pod.Spec.ServiceAccountName
}

// serviceAccountVolume writes what the kubelet's kube-api-access volume holds: a token bound to the pod, the API
// server's CA and the namespace. The token is requested again once tokenDue is past.
func (w *worker) serviceAccountVolume(ctx context.Context, pod *corev1.Pod, dir string, fsGroup int) error {
	if !w.tokenDue.IsZero() && time.Now().Before(w.tokenDue) {
		return nil
	}
	req := &authenticationv1.TokenRequest{Spec: authenticationv1.TokenRequestSpec{
		ExpirationSeconds: new(int64(tokenSeconds)), // no audiences: the API server's own
	}}
	// The API server binds a token to a pod only for the pod's own service account; an empty name (no
	// admission plugin set it) gets an unbound token of "default".
	if pod.Spec.ServiceAccountName != "" {
		req.Spec.BoundObjectRef = &authenticationv1.BoundObjectReference{
			Kind: "Pod", APIVersion: "v1", Name: pod.Name, UID: pod.UID,
		}
	}
	name := serviceAccountName(pod)
	token, err := w.r.client.CoreV1().ServiceAccounts(pod.Namespace).CreateToken(ctx, name, req, metav1.CreateOptions{})
	if err != nil {
		return fmt.Errorf("requesting a token for service account %q: %w", name, err)
	}
	err = writeAtomic(dir, map[string]file{
		"token":     {data: []byte(token.Status.Token), mode: 0o644},
		"ca.crt":    {data: w.r.caData, mode: 0o644},
		"namespace": {data: []byte(pod.Namespace), mode: 0o644},
	}, fsGroup)
	if err != nil {
		return err
	}
	w.tokenDue = time.Now().Add(time.Until(token.Status.ExpirationTimestamp.Time) * 8 / 10)
	return nil
}

func (w *worker) secretVolume(namespace string, src *corev1.SecretVolumeSource, dir string, fsGroup int) error {
	optional := src.Optional != nil && *src.Optional
	secret, err := getOptional(w.r.secrets.Secrets(namespace).Get, src.SecretName, optional)
	if err != nil {
		return err
	}
	return projectInto(dir, "secret "+strconv.Quote(src.SecretName), secret.Data, src.Items, src.DefaultMode, optional, fsGroup)
}

func (w *worker) configMapVolume(namespace string, src *corev1.ConfigMapVolumeSource, dir string, fsGroup int) error {
	optional := src.Optional != nil && *src.Optional
	cm, err := getOptional(w.r.configMaps.ConfigMaps(namespace).Get, src.Name, optional)
	if err != nil {
		return err
	}
	data := map[string][]byte{}
	for k, v := range cm.Data {
		data[k] = []byte(v)
	}
	for k, v := range cm.BinaryData {
		data[k] = v
	}
	return projectInto(dir, "configmap "+strconv.Quote(src.Name), data, src.Items, src.DefaultMode, optional, fsGroup)
}

// getOptional gets the object a volume names; for an optional volume, a missing object is an empty one.
func getOptional[T any](get func(name string) (*T, error), name string, optional bool) (*T, error) {
	obj, err := get(name)
	if apierrors.IsNotFound(err) && optional {
		return new(T), nil
	}
	return obj, err
}

// projectInto writes the files items select from data (all of it without items) into dir; what names the
// object for errors.
func projectInto(dir, what string, data map[string][]byte, items []corev1.KeyToPath, defaultMode *int32, optional bool, fsGroup int) error {
	files, err := project(data, items, defaultMode, optional)
	if err != nil {
		return fmt.Errorf("%s: %w", what, err)
	}
	return writeAtomic(dir, files, fsGroup)
}

// claimVolume makes the claim's folder. The claim must exist; it need not be bound, since nothing binds claims in
// a control plane without a volume controller.
func (w *worker) claimVolume(ctx context.Context, namespace, claim, dir string, fsGroup int) error {
	pvc, err := w.r.client.CoreV1().PersistentVolumeClaims(namespace).Get(ctx, claim, metav1.GetOptions{})
	if err != nil {
		return err
	}
	if pvc.DeletionTimestamp != nil {
		return fmt.Errorf("persistentvolumeclaim %q is being deleted", claim)
	}
	return newSharedDir(dir, fsGroup)
}

// newSharedDir creates a writable folder the first time, as an emptyDir (or a typical local provisioner's
// volume) is: mode 0777, and with fsGroup, group fsGroup and the setgid bit so new files join the group. Once it
// exists it is left alone, as the program may have changed it.
func newSharedDir(dir string, fsGroup int) error {
	if _, err := os.Stat(dir); err == nil {
		return nil
	}
	if err := os.MkdirAll(dir, 0o755); err != nil {
		return err
	}
	mode := os.FileMode(0o777)
	if fsGroup >= 0 {
		mode |= os.ModeSetgid
	}
	return errors.Join(chownGroup(dir, fsGroup), os.Chmod(dir, mode))
}

// file is one file of a Secret, ConfigMap or token volume.
type file struct {
	data []byte
	mode int32
}

// project picks the files of a Secret's or ConfigMap's data: every key, or the items, with their modes.
func project(data map[string][]byte, items []corev1.KeyToPath, defaultMode *int32, optional bool) (map[string]file, error) {
	mode := int32(0o644)
	if defaultMode != nil {
		mode = *defaultMode
	}
	files := map[string]file{}
	if len(items) == 0 {
		for k, v := range data {
			files[k] = file{data: v, mode: mode}
		}
		return files, nil
	}
	for _, item := range items {
		v, ok := data[item.Key]
		if !ok {
			if optional {
				continue
			}
			return nil, fmt.Errorf("couldn't find key %s", item.Key)
		}
		m := mode
		if item.Mode != nil {
			m = *item.Mode
		}
		files[item.Path] = file{data: v, mode: m}
	}
	return files, nil
}

// fileMode is a file's mode on disk. With an fsGroup the owner and the group may read, as the kubelet ensures,
// since the program reads the files through that group.
func fileMode(mode int32, fsGroup int) os.FileMode {
	m := os.FileMode(mode) & 0o777
	if fsGroup >= 0 {
		m |= 0o440
	}
	return m
}

// chownGroup gives name to the group fsGroup. Only root can; as an ordinary user, files stay yours (and are the
// program's, through the user namespace).
func chownGroup(name string, fsGroup int) error {
	if fsGroup < 0 || os.Geteuid() != 0 {
		return nil
	}
	return os.Lchown(name, -1, fsGroup)
}

// writeAtomic makes dir show exactly files, the way the kubelet's atomic writer does so that a reader never sees
// half an update: the files go to a new hidden folder, a "..data" symlink is switched to it in one rename, and
// each top-level name is a symlink through "..data". Nothing is written when dir already shows files.
func writeAtomic(dir string, files map[string]file, fsGroup int) error {
	if err := os.MkdirAll(dir, 0o755); err != nil {
		return err
	}
	dataLink := filepath.Join(dir, "..data")
	old, _ := os.Readlink(dataLink)
	if old != "" && sameFiles(filepath.Join(dir, old), files, fsGroup) {
		return nil
	}
	ts, err := os.MkdirTemp(dir, time.Now().UTC().Format("..2006_01_02_15_04_05."))
	if err != nil {
		return err
	}
	if err := writeFiles(ts, files, fsGroup); err != nil {
		return err
	}
	tmpLink := filepath.Join(dir, "..data_tmp")
	_ = os.Remove(tmpLink)
	if err := os.Symlink(filepath.Base(ts), tmpLink); err != nil {
		return err
	}
	if err := os.Rename(tmpLink, dataLink); err != nil {
		return err
	}
	if err := linkNames(dir, files); err != nil {
		return err
	}
	if old != "" {
		return os.RemoveAll(filepath.Join(dir, old))
	}
	return nil
}

// writeFiles writes files into the new folder ts.
func writeFiles(ts string, files map[string]file, fsGroup int) error {
	if err := os.Chmod(ts, 0o755); err != nil {
		return err
	}
	for p, f := range files {
		if !filepath.IsLocal(p) || strings.HasPrefix(p, "..") {
			return fmt.Errorf("invalid file path %q", p)
		}
		name := filepath.Join(ts, p)
		if err := os.MkdirAll(filepath.Dir(name), 0o755); err != nil {
			return err
		}
		if err := os.WriteFile(name, f.data, 0o600); err != nil {
			return err
		}
		if err := errors.Join(os.Chmod(name, fileMode(f.mode, fsGroup)), chownGroup(name, fsGroup)); err != nil {
			return err
		}
	}
	return nil
}

// linkNames makes the top-level names of files, and only those, symlinks through "..data".
func linkNames(dir string, files map[string]file) error {
	visible := map[string]bool{}
	for p := range files {
		visible[strings.Split(filepath.ToSlash(p), "/")[0]] = true
	}
	entries, err := os.ReadDir(dir)
	if err != nil {
		return err
	}
	for _, e := range entries {
		if !strings.HasPrefix(e.Name(), "..") && !visible[e.Name()] {
			_ = os.Remove(filepath.Join(dir, e.Name()))
		}
	}
	for name := range visible {
		link := filepath.Join(dir, name)
		if _, err := os.Lstat(link); errors.Is(err, fs.ErrNotExist) {
			if err := os.Symlink(filepath.Join("..data", name), link); err != nil {
				return err
			}
		}
	}
	return nil
}

// sameFiles says whether the folder holds exactly files, with the same content and modes.
func sameFiles(dir string, files map[string]file, fsGroup int) bool {
	count := 0
	err := filepath.WalkDir(dir, func(_ string, d fs.DirEntry, err error) error {
		if err == nil && d.Type().IsRegular() {
			count++
		}
		return err
	})
	if err != nil || count != len(files) {
		return false
	}
	for p, f := range files {
		name := filepath.Join(dir, p)
		fi, err := os.Lstat(name)
		if err != nil || !fi.Mode().IsRegular() || fi.Mode().Perm() != fileMode(f.mode, fsGroup) {
			return false
		}
		data, err := os.ReadFile(name)
		if err != nil || !bytes.Equal(data, f.data) {
			return false
		}
	}
	return true
}
