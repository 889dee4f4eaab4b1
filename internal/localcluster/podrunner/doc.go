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

// Package podrunner is a small kubelet stand-in for make demo and the end-to-end tests: it registers a Node,
// binds the Pending pods it is told to run to that Node, and runs each one as a local process, as the pod spec
// says. It is a development and test tool, not a kubelet: no images, no cgroups, no network namespace.
//
// What it supports, and nothing more:
//
//   - exactly one container per pod; its image is mapped to a local static binary by Options.Images, mounted at
//     Image.Entrypoint. command/args replace the entrypoint and its arguments as in Kubernetes ($(VAR) references
//     are not expanded).
//   - env: value, and valueFrom.fieldRef (metadata.name, metadata.namespace, metadata.uid, spec.nodeName,
//     spec.serviceAccountName, status.podIP, status.hostIP). PATH, HOSTNAME and KUBERNETES_SERVICE_HOST/PORT are
//     set like a kubelet does.
//   - volumes: secret and configMap (re-written atomically through a "..data" symlink when they change, as the
//     kubelet does, so a program that re-reads the same path sees the new content), emptyDir (a fresh folder per
//     pod) and persistentVolumeClaim (a folder under StateDir/volumes/<namespace>/<claim> that outlives pods).
//   - the service account token, unless automountServiceAccountToken is false: a TokenRequest bound to the pod,
//     the API server's CA and the namespace at /var/run/secrets/kubernetes.io/serviceaccount, so
//     rest.InClusterConfig works inside.
//   - securityContext: runAsUser, runAsGroup, fsGroup (supplementary group and owner group of the volumes),
//     readOnlyRootFilesystem, runAsNonRoot (checked), allowPrivilegeEscalation=false (no_new_privs).
//   - the readiness probe (httpGet, tcpSocket), restartPolicy with a 1s..30s crash-loop back-off, graceful
//     deletion (SIGTERM, the grace period, SIGKILL, then the final delete a kubelet makes).
//
// Networking is the host's: the process binds its container ports on this machine, and its pod IP is 127.0.0.1.
// Two pods with the same ports cannot run at once: they take turns, as the next section says, and the caller
// chooses the pods with Options.Selector.
//
// # Host ports
//
// A pod holds the ports its container declares (containerPort and protocol) from just before its process starts
// until the process has exited. A pod whose ports another pod of this runner holds does not start (and so does not
// fail with "address already in use" and crash-loop); it waits, with the waiting reason ContainerCreating and a
// message naming that pod and port, and starts as soon as the holder's process exits. Which one gives way:
//
//   - A holder that is terminating (being deleted, or its process being stopped) keeps its ports until its
//     process exits, after its grace period at most. This is a ReplicaSet replacing a deleted pod.
//   - A live holder that is newer keeps its ports.
//   - A live holder that is older hands them over. This is a rolling update, whose new pod comes before the old one
//     goes: the old pod's process gets SIGTERM (and SIGKILL after its grace period, as for a deletion), its
//     container ends terminated with the reason PortsHandedOver and a message naming the newer pod, it is not
//     Ready, and it is not restarted while the newer pod is there and not terminating. Once the newer pod goes
//     away, the older one starts again if it is still there. On a node, both would run side by side in their own
//     network namespaces; here a rollout completes with a short gap instead of stalling.
//
// Newer means created later; pods created within the same second (creationTimestamp's resolution) are ordered as
// the runner took them on, which is their creation order for pods created while it runs (name order for pods
// that were there when it started).
//
// # Isolation
//
// Each container process is the current binary re-executed as a tiny init (see Init) in a new mount and UTS
// namespace. The init bind-mounts a private root folder (StateDir/pods/<uid>/rootfs) on itself, mounts the image's
// binary read-only at its entrypoint, the host's /dev/null, each volume's folder at its mountPath, and the service
// account folder; remounts the root read-only when readOnlyRootFilesystem is set; chroots into it; takes the
// pod's groups, gid and uid; and execs the entrypoint. Mounts live and die with the process's mount namespace, so
// nothing is left mounted on the host.
//
// As root, the process really runs as runAsUser/runAsGroup with fsGroup as a supplementary group, and the volume
// files belong to the group fsGroup, as on a node. As an ordinary user the init also gets a new user namespace in
// which runAsUser is mapped to your uid and runAsGroup to your gid (one mapping each, which needs no privilege):
// the program sees the uid and gid it asked for, but every file it writes belongs to you on the host, fsGroup is
// not a real group inside, and files are not chowned.
package podrunner
