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
	"slices"
	"strings"
	"sync"

	corev1 "k8s.io/api/core/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/types"
	"sigs.k8s.io/controller-runtime/pkg/client"

	transferv1alpha1 "github.com/pier-dev/pier/api/v1alpha1"
	"github.com/pier-dev/pier/internal/controller/hostkeys"
	"github.com/pier-dev/pier/internal/controller/render"
	"github.com/pier-dev/pier/internal/credentials"
)

// annotationRegeneratedFor, on the generated host-key Secret, is the regeneration request its keys were made for.
// status.lastHandledHostKeyRegeneration records the request too, but the reconciler may read a status older than
// its own last write (the cache lags behind), or the write may fail; the Secret is always read from the API
// server, so a request is never answered with new keys twice.
const annotationRegeneratedFor = "transfer.pier.dev/regenerated-for"

// hostKeyOutcome is what the host-key step adds to the status besides the keys, and tells the Deployment step.
type hostKeyOutcome struct {
	// handledRequest is the regeneration request this reconcile answered or refused, for
	// status.lastHandledHostKeyRegeneration; nil when there was none.
	handledRequest *string
	// handledAddition is the addition request (AnnotationAddHostKeys) this reconcile answered or refused.
	handledAddition *string
	// previous is status.previousHostKeys after this reconcile; nil leaves it as it is.
	previous []transferv1alpha1.RetiredHostKey
	// unavailable is set when the keys the pods serve are no longer in a usable Secret: running pods keep them
	// in memory, but a new pod could not start, so the Deployment must not roll.
	unavailable bool
}

// writeHostKeyOutcome adds the outcome to the status; writeStatus calls it.
func (s *endpointState) writeHostKeyOutcome(st *transferv1alpha1.TransferEndpointStatus) {
	if o := s.hostKeyOutcome; o.handledRequest != nil {
		st.LastHandledHostKeyRegeneration = *o.handledRequest
	}
	if o := s.hostKeyOutcome; o.handledAddition != nil {
		st.LastHandledHostKeyAddition = *o.handledAddition
	}
	if o := s.hostKeyOutcome; o.previous != nil {
		st.PreviousHostKeys = o.previous
	}
}

// keysWritten is what the host-key step did to the generated Secret.
type keysWritten int

const (
	keysUnchanged keysWritten = iota
	// keysGenerated: the endpoint's first keys.
	keysGenerated
	// keysRegenerated: new keys, for the pending regeneration request.
	keysRegenerated
	// keysRegeneratedEarlier: the Secret already holds new keys for the pending request, written by a reconcile
	// whose status did not stick.
	keysRegeneratedEarlier
	// keysAdded: keys added beside the served ones, for the pending addition request (rotateHostKeys).
	keysAdded
	// keysRetired: keys spec.sftp.retiredHostKeys names removed (rotateHostKeys).
	keysRetired
)

// reconcileHostKeys finds the SFTP host keys: the user's Secret, or the operator's own. The operator generates
// keys the first time, and after that only when asked to with the annotation AnnotationRegenerateHostKeys: once
// an endpoint has served keys clients have pinned them, and to a client, keys that change unasked look exactly
// like a man in the middle. A missing or unusable Secret is reported with the fingerprints clients trust, while
// the config keeps naming the key files the pods have loaded (endpointState.hostKeyNames).
func (r *EndpointReconciler) reconcileHostKeys(ctx context.Context, s *endpointState) error {
	if s.te.Spec.SFTP == nil {
		return nil
	}
	name := s.names.HostKeysSecret
	desired := render.HostKeysSecret(s.te, nil)
	secret, known, err := r.readHostKeySecret(ctx, s, desired)
	if err != nil {
		return err
	}

	if s.names.GeneratedHostKeys && secret != nil {
		if usable, err := r.takeOverHostKeys(ctx, s, desired, secret); err != nil || !usable {
			return err
		}
	}
	written := keysUnchanged
	if s.names.GeneratedHostKeys {
		if secret, written, err = r.ensureGeneratedHostKeys(ctx, s, secret); err != nil {
			return err
		}
		if err := r.afterGenerated(ctx, s, secret, &written); err != nil {
			return err
		}
	} else if request, pending := regenerationRequest(s.te); pending {
		r.warn(s.te, transferv1alpha1.ReasonHostKeyRegenerationRefused, fmt.Sprintf("%s=%q has no effect: the host keys come from "+
			"Secret %s named in spec.sftp.hostKeys.secretRef, which the operator never writes; put new keys into "+
			"that Secret instead", transferv1alpha1.AnnotationRegenerateHostKeys, request, name))
		s.hostKeyOutcome.handledRequest = &request
	}
	if !s.names.GeneratedHostKeys {
		r.refuseAddition(s)
	}
	if secret == nil {
		return r.hostKeysMissing(ctx, s)
	}

	keys := known
	if keys == nil || written != keysUnchanged {
		if keys, err = hostkeys.Inspect(secret.Data); err != nil {
			return r.hostKeysInvalid(ctx, s, secret, err)
		}
		r.hostKeys.remember(secret, keys)
	}
	r.recordKeyChange(s, keys, written)
	s.hostKeys = keys
	msg := fmt.Sprintf("%d host keys from Secret %s", len(keys), name)
	if missing := hostkeys.Missing(keys, generatedTypes(s.te)); s.names.GeneratedHostKeys && len(missing) > 0 {
		// Keys are never added or replaced unasked; the owner learns how to get the types asked for.
		msg += fmt.Sprintf("; spec.sftp.generatedHostKeyTypes also lists %s, which the operator generates when asked: "+
			"beside the served keys with the annotation %s, or with all the keys replaced with the annotation %s",
			joinTypes(missing), transferv1alpha1.AnnotationAddHostKeys, transferv1alpha1.AnnotationRegenerateHostKeys)
	}
	s.set(transferv1alpha1.ConditionHostKeysReady, metav1.ConditionTrue, transferv1alpha1.ReasonLoaded, msg)
	return nil
}

// readHostKeySecret reads the endpoint's host-key Secret: nil when it does not exist. A Secret whose keys were
// checked at its current version, held by the endpoint as desired describes it, needs no read: its metadata is
// all the rest of the step uses, unless keys are to be written (rotationPending); known are then its keys, else
// nil.
func (r *EndpointReconciler) readHostKeySecret(ctx context.Context, s *endpointState, desired *corev1.Secret) (*corev1.Secret, []hostkeys.Key, error) {
	key := types.NamespacedName{Namespace: s.te.Namespace, Name: s.names.HostKeysSecret}
	secret := &corev1.Secret{}
	known, meta, err := r.hostKeys.lookup(ctx, key)
	if err == nil && known != nil && !rotationPending(s.te, known) && inStep(desired, meta, s.te) {
		secret.ObjectMeta = meta.ObjectMeta
		return secret, known, nil
	}
	err = r.Get(ctx, key, secret)
	switch {
	case apierrors.IsNotFound(err):
		return nil, nil, nil
	case err != nil:
		return nil, nil, fmt.Errorf("reading host-key Secret %s: %w", key.Name, err)
	}
	return secret, nil, nil
}

// generatedTypes are the types of host keys the endpoint's spec asks the operator to generate.
func generatedTypes(te *transferv1alpha1.TransferEndpoint) []credentials.KeyType {
	listed := transferv1alpha1.GeneratedHostKeyTypesOf(te.Spec.SFTP)
	out := make([]credentials.KeyType, 0, len(listed))
	for _, t := range listed {
		out = append(out, credentials.KeyType(t))
	}
	return out
}

func joinTypes(keyTypes []credentials.KeyType) string {
	names := make([]string, 0, len(keyTypes))
	for _, t := range keyTypes {
		names = append(names, string(t))
	}
	return strings.Join(names, " and ")
}

// hostKeyMemo remembers what Inspect found in each host-key Secret, by the Secret's UID and resourceVersion: the
// keys' entry names, types and fingerprints, never the private keys. A pass whose Secret did not change (its
// metadata in the manager's cache says so) then reads nothing from the API server. Only usable keys are
// remembered, so a broken Secret is read and reported each time.
type hostKeyMemo struct {
	// cache reads Secrets' metadata from the manager's cache; without it nothing is remembered.
	cache client.Reader

	mu       sync.Mutex
	bySecret map[types.NamespacedName]inspectedKeys
}

type inspectedKeys struct {
	uid             types.UID
	resourceVersion string
	keys            []hostkeys.Key
}

// lookup is the keys remembered for the Secret key at the version the cache holds, and that metadata; nil keys
// when the Secret changed since, is not in the cache, or was never inspected.
func (m *hostKeyMemo) lookup(ctx context.Context, key types.NamespacedName) ([]hostkeys.Key, *metav1.PartialObjectMetadata, error) {
	if m.cache == nil {
		return nil, nil, nil
	}
	meta, err := secretMetadata(ctx, m.cache, key)
	if err != nil || meta == nil {
		return nil, nil, err
	}
	m.mu.Lock()
	defer m.mu.Unlock()
	known, ok := m.bySecret[key]
	if !ok || known.uid != meta.UID || known.resourceVersion != meta.ResourceVersion {
		return nil, nil, nil
	}
	return slices.Clone(known.keys), meta, nil
}

// remember records the keys Inspect found in secret, as read from the API server.
func (m *hostKeyMemo) remember(secret *corev1.Secret, keys []hostkeys.Key) {
	if m.cache == nil || secret.ResourceVersion == "" {
		return
	}
	m.mu.Lock()
	defer m.mu.Unlock()
	if m.bySecret == nil {
		m.bySecret = map[types.NamespacedName]inspectedKeys{}
	}
	m.bySecret[client.ObjectKeyFromObject(secret)] = inspectedKeys{uid: secret.UID, resourceVersion: secret.ResourceVersion, keys: slices.Clone(keys)}
}

func (m *hostKeyMemo) forget(key types.NamespacedName) {
	m.mu.Lock()
	delete(m.bySecret, key)
	m.mu.Unlock()
}

// regenerationRequest is the value of AnnotationRegenerateHostKeys, and whether it asks for new keys: any value
// but the one last handled does.
func regenerationRequest(te *transferv1alpha1.TransferEndpoint) (string, bool) {
	v := te.Annotations[transferv1alpha1.AnnotationRegenerateHostKeys]
	return v, v != "" && v != te.Status.LastHandledHostKeyRegeneration
}

// ensureGeneratedHostKeys generates the endpoint's first keys, and new keys when a regeneration request is
// pending. secret is the generated Secret, nil when it does not exist; the Secret now is returned, nil when it
// still does not exist because the endpoint served keys before and nobody asked for new ones.
func (r *EndpointReconciler) ensureGeneratedHostKeys(ctx context.Context, s *endpointState, secret *corev1.Secret) (*corev1.Secret, keysWritten, error) {
	request, pending := regenerationRequest(s.te)
	served := true
	if secret == nil {
		names, err := r.servedKeyNames(ctx, s)
		if err != nil {
			return nil, keysUnchanged, err
		}
		served = len(s.te.Status.HostKeys) > 0 || len(names) > 0
	}

	written := keysRegenerated
	switch {
	case !served:
		written = keysGenerated
	case !pending:
		return secret, keysUnchanged, nil
	case secret != nil && secret.Annotations[annotationRegeneratedFor] == request:
		s.hostKeyOutcome.handledRequest = &request
		return secret, keysRegeneratedEarlier, nil
	case secret != nil && !inStep(render.HostKeysSecret(s.te, nil), secret, s.te):
		r.warn(s.te, transferv1alpha1.ReasonHostKeyRegenerationRefused, fmt.Sprintf("%s=%q has no effect: Secret %s was not "+
			"generated by this endpoint (it has another controller), and the operator does not overwrite it; "+
			"delete it and set the annotation to a new value, or name your own Secret in spec.sftp.hostKeys.secretRef",
			transferv1alpha1.AnnotationRegenerateHostKeys, request, secret.Name))
		s.hostKeyOutcome.handledRequest = &request
		return secret, keysUnchanged, nil
	}

	secret, err := r.writeHostKeys(ctx, s.te, secret, request)
	if err != nil {
		return nil, keysUnchanged, err
	}
	if pending {
		s.hostKeyOutcome.handledRequest = &request
	}
	return secret, written, nil
}

// writeHostKeys generates keys of the types the spec asks for into the generated Secret: a new one when existing
// is nil, else existing with its keys replaced. The optimistic lock of the update keeps it from overwriting a
// change it has not seen.
func (r *EndpointReconciler) writeHostKeys(ctx context.Context, te *transferv1alpha1.TransferEndpoint, existing *corev1.Secret, request string) (*corev1.Secret, error) {
	keys, err := hostkeys.Generate(generatedTypes(te))
	if err != nil {
		return nil, fmt.Errorf("generating SSH host keys: %w", err)
	}
	if existing == nil {
		secret := render.HostKeysSecret(te, keys)
		if request != "" {
			setAnnotation(secret, annotationRegeneratedFor, request)
		}
		if err := r.Create(ctx, secret, client.FieldOwner(render.FieldOwner)); err != nil {
			// AlreadyExists means someone else created it meanwhile: the next reconcile looks at it.
			return nil, fmt.Errorf("creating host-key Secret %s: %w", secret.Name, err)
		}
		return secret, nil
	}
	existing.Data = keys
	if request != "" {
		setAnnotation(existing, annotationRegeneratedFor, request)
	}
	if err := r.Update(ctx, existing, client.FieldOwner(render.FieldOwner)); err != nil {
		return nil, fmt.Errorf("writing new keys into host-key Secret %s: %w", existing.Name, err)
	}
	return existing, nil
}

// servedKeyNames are the host-key Secret entries the endpoint's config names, which its pods load; nil when
// there is no config yet. With status.hostKeys they tell whether the endpoint has served keys: the status
// alone could have been lost (restored from a backup without it).
func (r *EndpointReconciler) servedKeyNames(ctx context.Context, s *endpointState) ([]string, error) {
	served, _, err := r.served.current(ctx, s.te)
	if err != nil {
		return nil, err
	}
	return hostKeyFileNames(served.config), nil
}

// hostKeysMissing reports a host-key Secret that does not exist. Before any key was served that is a set-up
// step still to do; after, it is an incident: clients trust the keys the pods still serve, and no pod can start.
func (r *EndpointReconciler) hostKeysMissing(ctx context.Context, s *endpointState) error {
	name := s.names.HostKeysSecret
	names, err := r.servedKeyNames(ctx, s)
	if err != nil {
		return err
	}
	if len(s.te.Status.HostKeys) == 0 && len(names) == 0 {
		msg := fmt.Sprintf("Secret %s named in spec.sftp.hostKeys.secretRef does not exist in namespace %s", name, s.te.Namespace)
		s.set(transferv1alpha1.ConditionHostKeysReady, metav1.ConditionFalse, transferv1alpha1.ReasonSecretNotFound, msg)
		r.warn(s.te, transferv1alpha1.ReasonSecretNotFound, msg)
		return nil
	}
	s.hostKeyOutcome.unavailable = len(names) > 0
	msg := fmt.Sprintf("host-key Secret %s is missing, but this endpoint has served SSH host keys: %s. Running pods "+
		"keep serving them; a pod that starts now cannot mount them, so the Deployment is left as it is. %s",
		name, trustedKeys(s.te), r.remedy(s))
	s.set(transferv1alpha1.ConditionHostKeysReady, metav1.ConditionFalse, transferv1alpha1.ReasonHostKeysMissing, msg)
	r.warn(s.te, transferv1alpha1.ReasonHostKeysMissing, msg)
	return nil
}

// hostKeySecretConflict reports a Secret of the generated host keys' name that this endpoint may not use (msg says
// why). Its keys are not used: whoever made it may hold the private keys, and could then pose as the server.
// Nothing is generated either (the name is taken); when keys were served before, the Deployment is held as for a
// missing Secret.
func (r *EndpointReconciler) hostKeySecretConflict(ctx context.Context, s *endpointState, msg string) error {
	names, err := r.servedKeyNames(ctx, s)
	if err != nil {
		return err
	}
	s.hostKeyOutcome.unavailable = len(names) > 0
	s.set(transferv1alpha1.ConditionHostKeysReady, metav1.ConditionFalse, transferv1alpha1.ReasonHostKeySecretConflict, msg)
	r.warn(s.te, transferv1alpha1.ReasonHostKeySecretConflict, msg)
	return nil
}

// hostKeysInvalid reports a host-key Secret whose keys pier-server cannot use. Once keys were served, the pods
// keep them; a new pod can start only if the entries the config names are still usable.
func (r *EndpointReconciler) hostKeysInvalid(ctx context.Context, s *endpointState, secret *corev1.Secret, problem error) error {
	msg := fmt.Sprintf("host-key Secret %s: %v", secret.Name, problem)
	names, err := r.servedKeyNames(ctx, s)
	if err != nil {
		return err
	}
	if len(s.te.Status.HostKeys) > 0 || len(names) > 0 {
		s.hostKeyOutcome.unavailable = !loadable(secret.Data, names)
		msg += fmt.Sprintf(". Running pods keep serving the keys they loaded: %s", trustedKeys(s.te))
		if s.hostKeyOutcome.unavailable {
			msg += "; a pod that starts now could not load them, so the Deployment is left as it is"
		}
		msg += ". " + r.remedy(s)
	}
	s.set(transferv1alpha1.ConditionHostKeysReady, metav1.ConditionFalse, transferv1alpha1.ReasonInvalidHostKeys, msg)
	r.warn(s.te, transferv1alpha1.ReasonInvalidHostKeys, msg)
	return nil
}

// loadable reports whether the Secret's entries named would still let a new pod start.
func loadable(data map[string][]byte, names []string) bool {
	if len(names) == 0 {
		return true // no config yet, so no pod either
	}
	subset := map[string][]byte{}
	for _, n := range names {
		v, ok := data[n]
		if !ok {
			return false
		}
		subset[n] = v
	}
	_, err := hostkeys.Inspect(subset)
	return err == nil
}

// trustedKeys names the keys clients trust: the fingerprints last served.
func trustedKeys(te *transferv1alpha1.TransferEndpoint) string {
	if len(te.Status.HostKeys) == 0 {
		return "their fingerprints are no longer in the status"
	}
	return "clients trust " + describeKeys(te.Status.HostKeys)
}

// remedy says how to get out of a missing or unusable host-key Secret.
func (r *EndpointReconciler) remedy(s *endpointState) string {
	if !s.names.GeneratedHostKeys {
		return "Restore the Secret named in spec.sftp.hostKeys.secretRef with the same keys; other keys will look " +
			"to every client like a changed host key."
	}
	return fmt.Sprintf("Restore the Secret from a backup to keep these keys, or ask for new ones, which every client "+
		"will see as a changed host key: kubectl annotate --overwrite -n %s transferendpoint %s %s=\"$(date +%%s)\"",
		s.te.Namespace, s.te.Name, transferv1alpha1.AnnotationRegenerateHostKeys)
}

// recordKeyChange compares the keys now in the Secret with those the endpoint served: replaced keys move to
// status.previousHostKeys, and an event says what changed. Unasked changes of the operator's own Secret are a
// Warning: nobody but the operator should write it.
func (r *EndpointReconciler) recordKeyChange(s *endpointState, keys []hostkeys.Key, written keysWritten) {
	name := s.names.HostKeysSecret
	now := keyStatuses(keys)
	change := hostkeys.Compare(s.te.Status.HostKeys, keys)
	if len(s.te.Status.HostKeys) > 0 && !change.Empty() {
		reason := transferv1alpha1.HostKeyRetiredSecretChanged
		switch written {
		case keysRegenerated, keysRegeneratedEarlier:
			reason = transferv1alpha1.HostKeyRetiredRegenerated
		case keysRetired:
			reason = transferv1alpha1.HostKeyRetiredOnRequest
		}
		s.hostKeyOutcome.previous = hostkeys.Retire(s.te.Status.PreviousHostKeys, change, keys, metav1.NewTime(r.now()), reason)
	}
	retired := "none known"
	if len(change.Retired) > 0 && len(s.te.Status.HostKeys) > 0 {
		retired = describeKeys(change.Retired)
	}

	switch {
	case written == keysAdded:
		r.note(s.te, transferv1alpha1.ReasonHostKeysAdded, fmt.Sprintf("added SSH host keys into Secret %s, as %s=%q "+
			"asked: %s, served beside the others (now serving %s). Hand the new fingerprints to partners; once "+
			"they trust them, list the old keys' fingerprints in spec.sftp.retiredHostKeys", name,
			transferv1alpha1.AnnotationAddHostKeys, *s.hostKeyOutcome.handledAddition, describeAdded(s.te, keys), describeKeys(now)))
	case written == keysRetired:
		r.note(s.te, transferv1alpha1.ReasonHostKeysRetired, fmt.Sprintf("removed the SSH host keys spec.sftp.retiredHostKeys "+
			"names from Secret %s: %s; now serving %s. Clients that pinned only a retired key will see a changed host key",
			name, retired, describeKeys(now)))
	case written == keysGenerated:
		r.note(s.te, transferv1alpha1.ReasonHostKeysGenerated,
			fmt.Sprintf("generated SSH host keys into Secret %s: %s", name, describeKeys(now)))
	case written == keysRegenerated:
		r.note(s.te, transferv1alpha1.ReasonHostKeysRegenerated, fmt.Sprintf("generated new SSH host keys "+
			"into Secret %s, as %s=%q asked: now serving %s; retired %s. Clients that pinned the retired keys will "+
			"see a changed host key until they trust the new ones", name, transferv1alpha1.AnnotationRegenerateHostKeys,
			*s.hostKeyOutcome.handledRequest, describeKeys(now), retired))
	case written == keysRegeneratedEarlier, len(s.te.Status.HostKeys) == 0, change.Empty():
	case s.names.GeneratedHostKeys:
		r.warn(s.te, transferv1alpha1.ReasonHostKeysChanged, fmt.Sprintf("the SSH host keys in Secret %s changed, but not by the "+
			"operator, which owns that Secret: now serving %s; retired %s. Clients that pinned the retired keys "+
			"will refuse the endpoint; if this was not intended, restore the Secret from a backup", name,
			describeKeys(now), retired))
	default:
		r.note(s.te, transferv1alpha1.ReasonHostKeysChanged, fmt.Sprintf("the SSH host keys in Secret %s "+
			"changed: now serving %s; retired %s. Clients that pinned the retired keys will see a changed host key",
			name, describeKeys(now), retired))
	}
}

func keyStatuses(keys []hostkeys.Key) []transferv1alpha1.HostKeyStatus {
	out := make([]transferv1alpha1.HostKeyStatus, 0, len(keys))
	for _, k := range keys {
		out = append(out, transferv1alpha1.HostKeyStatus{Type: k.Type, Fingerprint: k.Fingerprint})
	}
	return out
}

// describeKeys lists keys as "ssh-ed25519 SHA256:..., ssh-rsa SHA256:...", sorted by type.
func describeKeys(keys []transferv1alpha1.HostKeyStatus) string {
	parts := make([]string, 0, len(keys))
	for _, k := range keys {
		parts = append(parts, k.Type+" "+k.Fingerprint)
	}
	slices.Sort(parts)
	return strings.Join(parts, ", ")
}
