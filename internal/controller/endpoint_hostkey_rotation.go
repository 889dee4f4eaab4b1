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

package controller

import (
	"context"
	"fmt"
	"maps"
	"slices"
	"strings"

	corev1 "k8s.io/api/core/v1"
	"sigs.k8s.io/controller-runtime/pkg/client"

	transferv1alpha1 "github.com/pier-dev/pier/api/v1alpha1"
	"github.com/pier-dev/pier/internal/controller/hostkeys"
	"github.com/pier-dev/pier/internal/controller/render"
)

// Host-key rotation without a flag day, on the generated Secret: keys are added beside the served ones
// (AnnotationAddHostKeys), partners learn the new fingerprints from status.hostKeys, and the old keys are retired
// by fingerprint (spec.sftp.retiredHostKeys). SSH offers a client one key per type in a key exchange (and
// golang.org/x/crypto/ssh keeps one per type), so an added key is of a type the endpoint does not serve yet; a
// client that pinned the old key keeps choosing its type (OpenSSH, PuTTY and WinSCP prefer the types they know for
// a host) until it is retired. Regeneration (AnnotationRegenerateHostKeys) stays the way to replace every key at
// once.

// annotationAddedFor, on the generated host-key Secret, is the addition request whose keys it holds: as
// annotationRegeneratedFor does for regeneration, it keeps a request whose status did not stick from adding keys
// twice.
const annotationAddedFor = "transfer.pier.dev/added-for"

// additionRequest is the value of AnnotationAddHostKeys, and whether it asks for keys: any value but the one last
// handled does.
func additionRequest(te *transferv1alpha1.TransferEndpoint) (string, bool) {
	v := te.Annotations[transferv1alpha1.AnnotationAddHostKeys]
	return v, v != "" && v != te.Status.LastHandledHostKeyAddition
}

// retirementPending reports whether spec.sftp.retiredHostKeys names a key the endpoint's Secret holds.
func retirementPending(te *transferv1alpha1.TransferEndpoint, keys []hostkeys.Key) bool {
	return len(retiring(te, keys)) > 0
}

// retiring are the keys among keys that spec.sftp.retiredHostKeys names.
func retiring(te *transferv1alpha1.TransferEndpoint, keys []hostkeys.Key) []hostkeys.Key {
	if te.Spec.SFTP == nil {
		return nil
	}
	var out []hostkeys.Key
	for _, k := range keys {
		if slices.Contains(te.Spec.SFTP.RetiredHostKeys, k.Fingerprint) {
			out = append(out, k)
		}
	}
	return out
}

// rotateHostKeys answers a pending addition request and retires the keys spec.sftp.retiredHostKeys names, in the
// generated Secret, which must be held by the endpoint and read in full. It returns what it wrote.
func (r *EndpointReconciler) rotateHostKeys(ctx context.Context, s *endpointState, secret *corev1.Secret) (keysWritten, error) {
	keys, err := hostkeys.Inspect(secret.Data)
	if err != nil {
		return keysUnchanged, nil // reconcileHostKeys reports it; nothing is added to or removed from a broken Secret
	}
	data := maps.Clone(secret.Data)
	written := keysUnchanged
	if request, pending := additionRequest(s.te); pending {
		s.hostKeyOutcome.handledAddition = &request
		if secret.Annotations[annotationAddedFor] != request {
			added, err := r.addHostKeys(s, keys, data, request)
			if err != nil {
				return keysUnchanged, err
			}
			if added {
				setAnnotation(secret, annotationAddedFor, request)
				written = keysAdded
			}
		}
	}
	if gone := retiring(s.te, keys); len(gone) > 0 {
		if len(gone) == len(keys) {
			r.warn(s.te, transferv1alpha1.ReasonHostKeyRetirementRefused, fmt.Sprintf("spec.sftp.retiredHostKeys names "+
				"every key the endpoint serves (%s); an SSH server needs one, so none was removed: add a key first "+
				"(annotation %s), hand its fingerprint to partners, then retire the old ones",
				describeKeys(keyStatuses(keys)), transferv1alpha1.AnnotationAddHostKeys))
		} else {
			for _, k := range gone {
				delete(data, k.Name)
				delete(data, k.Name+".pub")
			}
			written = keysRetired
		}
	}
	if written == keysUnchanged {
		return keysUnchanged, nil
	}
	secret.Data = data
	if err := r.Update(ctx, secret, client.FieldOwner(render.FieldOwner)); err != nil {
		s.hostKeyOutcome.handledAddition = nil
		return keysUnchanged, fmt.Errorf("writing rotated keys into host-key Secret %s: %w", secret.Name, err)
	}
	return written, nil
}

// addHostKeys generates, into data, a key of each type generatedHostKeyTypes lists that keys has none of; it
// reports whether it added any, and refuses with an event when there is none to add.
func (r *EndpointReconciler) addHostKeys(s *endpointState, keys []hostkeys.Key, data map[string][]byte, request string) (bool, error) {
	missing := hostkeys.Missing(keys, generatedTypes(s.te))
	if len(missing) == 0 {
		r.warn(s.te, transferv1alpha1.ReasonHostKeyAdditionRefused, fmt.Sprintf("%s=%q added no key: the endpoint already "+
			"serves a key of each type spec.sftp.generatedHostKeyTypes lists (%s), and SSH offers a client only one key "+
			"per type. To rotate, add a type the endpoint does not serve yet to spec.sftp.generatedHostKeyTypes "+
			"(ed25519, ecdsa or rsa) and set the annotation to a new value; or replace every key at once with %s",
			transferv1alpha1.AnnotationAddHostKeys, request, describeKeys(keyStatuses(keys)), transferv1alpha1.AnnotationRegenerateHostKeys))
		return false, nil
	}
	generated, err := hostkeys.Generate(missing)
	if err != nil {
		return false, fmt.Errorf("generating SSH host keys: %w", err)
	}
	for name := range generated {
		if _, taken := data[name]; taken {
			r.warn(s.te, transferv1alpha1.ReasonHostKeyAdditionRefused, fmt.Sprintf("%s=%q added no key: the generated "+
				"Secret %s already has an entry %s, of another type than its name says; restore the Secret or ask "+
				"for new keys with %s", transferv1alpha1.AnnotationAddHostKeys, request, s.names.HostKeysSecret, name,
				transferv1alpha1.AnnotationRegenerateHostKeys))
			return false, nil
		}
	}
	maps.Copy(data, generated)
	return true, nil
}

// rotationPending reports whether the host-key step must read the generated Secret in full because it may write
// it: a request for new or added keys, or a key to retire among those last seen.
func rotationPending(te *transferv1alpha1.TransferEndpoint, known []hostkeys.Key) bool {
	_, regenerate := regenerationRequest(te)
	_, add := additionRequest(te)
	return regenerate || add || retirementPending(te, known)
}

// describeAdded lists the keys the Secret holds now that the endpoint did not serve before.
func describeAdded(te *transferv1alpha1.TransferEndpoint, keys []hostkeys.Key) string {
	added := hostkeys.Compare(te.Status.HostKeys, keys).Added
	parts := make([]string, 0, len(added))
	for _, k := range added {
		parts = append(parts, k.Type+" "+k.Fingerprint)
	}
	return strings.Join(parts, ", ")
}

// afterGenerated runs the rotation steps on the generated Secret once it exists and is the endpoint's: an addition
// request that arrives with the first or regenerated keys needs no more keys (they are of every listed type), and
// is only recorded as handled.
func (r *EndpointReconciler) afterGenerated(ctx context.Context, s *endpointState, secret *corev1.Secret, written *keysWritten) error {
	request, pending := additionRequest(s.te)
	switch {
	case secret == nil || secret.Data == nil || !inStep(render.HostKeysSecret(s.te, nil), secret, s.te):
		return nil
	case *written != keysUnchanged:
		if pending {
			s.hostKeyOutcome.handledAddition = &request
		}
		return nil
	}
	w, err := r.rotateHostKeys(ctx, s, secret)
	*written = w
	return err
}

// refuseAddition answers an addition request on an endpoint whose keys come from the user's own Secret, which the
// operator never writes.
func (r *EndpointReconciler) refuseAddition(s *endpointState) {
	request, pending := additionRequest(s.te)
	if !pending {
		return
	}
	r.warn(s.te, transferv1alpha1.ReasonHostKeyAdditionRefused, fmt.Sprintf("%s=%q has no effect: the host keys come from "+
		"Secret %s named in spec.sftp.hostKeys.secretRef, which the operator never writes; add the new key to that "+
		"Secret (one key per type), and remove the old one from it once partners trust the new one",
		transferv1alpha1.AnnotationAddHostKeys, request, s.names.HostKeysSecret))
	s.hostKeyOutcome.handledAddition = &request
}
