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

package render

import (
	"maps"

	appsv1 "k8s.io/api/apps/v1"
	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/util/intstr"

	"github.com/pier-dev/pier/api/v1alpha1"
)

const (
	// revisionHistoryLimit keeps a few old ReplicaSets for kubectl rollout undo, not the default ten.
	revisionHistoryLimit = 3
	// terminationGracePeriodSeconds leaves pier-server time to drain: it lets running transfers go on for 30s
	// (limits.shutdownGracePeriod) after SIGTERM, then closes what is left.
	terminationGracePeriodSeconds = 45
)

// DeploymentInputs is what the Deployment needs beyond the endpoint.
type DeploymentInputs struct {
	// Image is the pier-server image.
	Image string
	// ImagePullPolicy of the container; "" leaves it unset, so Kubernetes chooses from the image's tag.
	ImagePullPolicy corev1.PullPolicy
	// PodDefaults are the operator-wide defaults of the pods' scheduling fields (PodDefaults).
	PodDefaults PodDefaults
	// RestartHash is RestartHash of the rendered configuration. It goes on the pod template as
	// AnnotationRestartHash, so the pods roll when, and only when, it changes.
	RestartHash string
}

// Deployment runs the endpoint's pier-server pods.
func Deployment(te *v1alpha1.TransferEndpoint, in DeploymentInputs) *appsv1.Deployment {
	names := NamesFor(te)
	return &appsv1.Deployment{
		TypeMeta:   typeMeta("apps/v1", "Deployment"),
		ObjectMeta: objectMeta(te, names.Deployment),
		Spec: appsv1.DeploymentSpec{
			Replicas:             new(replicas(te)),
			Selector:             &metav1.LabelSelector{MatchLabels: SelectorLabels(te)},
			Strategy:             deploymentStrategy(te),
			RevisionHistoryLimit: new(int32(revisionHistoryLimit)),
			Template: corev1.PodTemplateSpec{
				ObjectMeta: podMetadata(te, in.RestartHash),
				Spec:       podSpec(te, in),
			},
		},
	}
}

// deploymentStrategy replaces a single pod on a claim by stopping it first: a ReadWriteOnce volume cannot attach to
// the new pod while the old one still holds it, so a rolling update would hang. Every other endpoint rolls one
// extra pod at a time and never goes below the wanted number of ready pods.
func deploymentStrategy(te *v1alpha1.TransferEndpoint) appsv1.DeploymentStrategy {
	if usesClaim(te) && replicas(te) == 1 {
		return appsv1.DeploymentStrategy{Type: appsv1.RecreateDeploymentStrategyType}
	}
	return appsv1.DeploymentStrategy{
		Type: appsv1.RollingUpdateDeploymentStrategyType,
		RollingUpdate: &appsv1.RollingUpdateDeployment{
			MaxUnavailable: new(intstr.FromInt32(0)),
			MaxSurge:       new(intstr.FromInt32(1)),
		},
	}
}

// podMetadata adds the user's pod labels and annotations to ours. Our labels win: the selector depends on them.
func podMetadata(te *v1alpha1.TransferEndpoint, restartHash string) metav1.ObjectMeta {
	extra := te.Spec.PodTemplate.Metadata

	labels := maps.Clone(extra.Labels)
	if labels == nil {
		labels = map[string]string{}
	}
	maps.Copy(labels, Labels(te))

	annotations := maps.Clone(extra.Annotations)
	if annotations == nil {
		annotations = map[string]string{}
	}
	annotations[AnnotationRestartHash] = restartHash

	return metav1.ObjectMeta{Labels: labels, Annotations: annotations}
}

// podSpec is the server pod: one container, the restricted Pod Security profile, and the user's scheduling
// settings copied from spec.podTemplate, completed by the operator's defaults.
func podSpec(te *v1alpha1.TransferEndpoint, in DeploymentInputs) corev1.PodSpec {
	tpl := te.Spec.PodTemplate.DeepCopy()
	sched := schedulingOf(tpl, in.PodDefaults)
	return corev1.PodSpec{
		ServiceAccountName: NamesFor(te).ServiceAccount,
		// pier-server watches its config Secret through the API, with the Role the operator creates for it.
		AutomountServiceAccountToken: new(true),
		// Service links would put an environment variable for every Service of the namespace into the
		// container; pier-server reads none of them.
		EnableServiceLinks:            new(false),
		TerminationGracePeriodSeconds: new(int64(terminationGracePeriodSeconds)),
		SecurityContext: &corev1.PodSecurityContext{
			RunAsNonRoot:        new(true),
			RunAsUser:           new(int64(ServerUID)),
			RunAsGroup:          new(int64(ServerUID)),
			FSGroup:             new(int64(ServerUID)),
			FSGroupChangePolicy: new(corev1.FSGroupChangeOnRootMismatch),
			SeccompProfile:      &corev1.SeccompProfile{Type: corev1.SeccompProfileTypeRuntimeDefault},
		},
		Containers:                []corev1.Container{serverContainer(te, in)},
		Volumes:                   volumes(te),
		NodeSelector:              sched.nodeSelector,
		Tolerations:               sched.tolerations,
		Affinity:                  tpl.Affinity,
		TopologySpreadConstraints: tpl.TopologySpreadConstraints,
		PriorityClassName:         sched.priorityClassName,
		ImagePullSecrets:          sched.imagePullSecrets,
	}
}
