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
	"strings"

	corev1 "k8s.io/api/core/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	"k8s.io/apimachinery/pkg/api/meta"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/types"
	"k8s.io/client-go/tools/events"
	ctrl "sigs.k8s.io/controller-runtime"
	"sigs.k8s.io/controller-runtime/pkg/client"
	"sigs.k8s.io/controller-runtime/pkg/event"
	logf "sigs.k8s.io/controller-runtime/pkg/log"

	transferv1alpha1 "github.com/pier-dev/pier/api/v1alpha1"
	"github.com/pier-dev/pier/internal/controller/ownstatus"
	"github.com/pier-dev/pier/internal/controller/render"
	"github.com/pier-dev/pier/internal/controller/users"
	"github.com/pier-dev/pier/internal/credentials"
	"github.com/pier-dev/pier/internal/serverconfig"
)

// UserReconciler keeps a TransferUser's generated password Secret and reports, in its status, whether its
// endpoint serves its current credentials. The endpoint reconciler renders the login itself.
type UserReconciler struct {
	// Client reads through the manager's cache, except Secrets, which it always reads from the API server.
	client.Client
	// APIReader reads from the API server, for a user the cache does not show the last status write of yet.
	APIReader client.Reader
	Recorder  events.EventRecorder
	// Users resolves the user's credentials; the endpoint reconciler shares it, so a change is resolved once.
	Users *users.Resolver

	// statuses remembers the status writes the cache may not show yet, so that each reconcile compares what it
	// decides with the status the API server holds.
	statuses ownstatus.Tracker
	// served remembers the parsed config of each endpoint by its Secret's resourceVersion, so that thousands of
	// users checking one endpoint read and parse its config once per change, not once each; the endpoint
	// reconciler shares it.
	served *servedConfigs
	// events are the users whose config entries the endpoint reconciler's config writes changed.
	events <-chan event.GenericEvent
	// writes remembers the reconciler's own writes (generated password Secrets), whose events need not run it.
	writes *ownWrites
}

// +kubebuilder:rbac:groups=transfer.pier.dev,resources=transferusers,verbs=get;list;watch
// +kubebuilder:rbac:groups=transfer.pier.dev,resources=transferusers/status,verbs=get;update;patch

// Reconcile checks one TransferUser and writes its status once, only when it changed.
func (r *UserReconciler) Reconcile(ctx context.Context, req ctrl.Request) (ctrl.Result, error) {
	tu := &transferv1alpha1.TransferUser{}
	return reconcileWithStatus(ctx, r.Client, statusReads{&r.statuses, r.APIReader}, req, tu, func() (ctrl.Result, error) { return r.reconcile(ctx, tu) },
		func() { r.Users.Forget(req.NamespacedName) },
		func(failure error) {
			// Whatever stopped this reconcile is the user's Ready condition until a retry gets further, so no user
			// is ever left without a status.
			if failure != nil {
				meta.SetStatusCondition(&tu.Status.Conditions, metav1.Condition{Type: transferv1alpha1.ConditionReady,
					Status: metav1.ConditionFalse, Reason: transferv1alpha1.ReasonReconcileFailed, Message: failure.Error(),
					ObservedGeneration: tu.Generation})
			}
			tu.Status.ObservedGeneration = tu.Generation
		})
}

// reconcile keeps the user's generated password and decides its Ready condition.
func (r *UserReconciler) reconcile(ctx context.Context, tu *transferv1alpha1.TransferUser) (ctrl.Result, error) {
	if err := r.reconcileGeneratedPassword(ctx, tu); err != nil {
		return ctrl.Result{}, err
	}
	ready, err := r.readiness(ctx, tu)
	if err != nil {
		return ctrl.Result{}, err
	}
	ready.Type = transferv1alpha1.ConditionReady
	ready.ObservedGeneration = tu.Generation
	meta.SetStatusCondition(&tu.Status.Conditions, ready)
	// A Pending user is not looked at again on a timer: the endpoint's write of the config that serves it wakes
	// it (setupWithManager). An informer that re-lists delivers the changes it missed as events, so no change is
	// lost, and a timer would cost a reconcile of every waiting user every few seconds, thousands of them during a
	// bulk load.
	return ctrl.Result{}, nil
}

// readiness decides the Ready condition: is the endpoint there, may this user have its username and home, are its
// credentials usable, does the endpoint's config serve exactly this user's current settings, and can clients
// reach the endpoint. It applies the same rules (package users) as the endpoint reconciler that renders the config.
func (r *UserReconciler) readiness(ctx context.Context, tu *transferv1alpha1.TransferUser) (metav1.Condition, error) {
	endpoint := &transferv1alpha1.TransferEndpoint{}
	err := r.Get(ctx, types.NamespacedName{Namespace: tu.Namespace, Name: tu.Spec.EndpointRef.Name}, endpoint)
	if apierrors.IsNotFound(err) {
		return r.notReady(tu, transferv1alpha1.ReasonEndpointNotFound, fmt.Sprintf("TransferEndpoint %s does not exist in namespace %s",
			tu.Spec.EndpointRef.Name, tu.Namespace), false), nil
	}
	if err != nil {
		return metav1.Condition{}, fmt.Errorf("reading TransferEndpoint %s: %w", tu.Spec.EndpointRef.Name, err)
	}

	others, err := r.mayConflict(ctx, tu)
	if err != nil {
		return metav1.Condition{}, err
	}
	if p := users.Conflict(tu, others); p != nil {
		// Not resolved, as the endpoint does not resolve it either; its keys are still reported.
		tu.Status.KeyFingerprints = r.Users.KeyFingerprints(ctx, tu)
		return r.notReady(tu, p.Reason, p.Message, true), nil
	}

	served, err := r.served.entry(ctx, endpoint, tu.Spec.Username)
	if err != nil {
		return metav1.Condition{}, err
	}
	servedEntry := served.Entry
	resolved := r.Users.Resolve(ctx, tu, served)
	tu.Status.KeyFingerprints = resolved.KeyFingerprints
	want, problems := resolved.Entry, resolved.Problems
	if err := users.ErrUnreadable(problems); err != nil {
		return metav1.Condition{}, err
	}
	if want == nil {
		p := problems[0]
		return r.notReady(tu, p.Reason, p.Message, p.Reason != transferv1alpha1.ReasonGeneratedPasswordPending), nil
	}
	if servedEntry == nil || !users.Equal(*want, *servedEntry) {
		return r.notServedYet(ctx, tu, endpoint, *want, servedEntry), nil
	}
	if len(problems) > 0 {
		// Served, but not as asked: a credential revoked, or kept from before while its Secret is broken.
		reason, message := summarize(problems)
		return r.notReady(tu, reason, message, true), nil
	}
	if tu.Spec.Disabled {
		return metav1.Condition{Status: metav1.ConditionTrue, Reason: transferv1alpha1.ReasonDisabled,
			Message: fmt.Sprintf("endpoint %s refuses this login and has closed its sessions", endpoint.Name)}, nil
	}
	if signal := signalOf(endpoint); !signal.available {
		msg := fmt.Sprintf("endpoint %s serves this login, but has no pod available to accept it", endpoint.Name)
		if signal.unavailable != "" {
			msg += ": " + signal.unavailable
		} else {
			msg += " (the endpoint has not reported its pods yet)"
		}
		return metav1.Condition{Status: metav1.ConditionFalse, Reason: transferv1alpha1.ReasonEndpointUnavailable, Message: msg}, nil
	}
	msg := fmt.Sprintf("endpoint %s serves this login", endpoint.Name)
	if users.IsAdministrator(tu) {
		msg += fmt.Sprintf(", as an Administrator whose home %s may hold other users' homes", users.Home(tu))
	}
	return metav1.Condition{Status: metav1.ConditionTrue, Reason: transferv1alpha1.ReasonServing, Message: msg}, nil
}

// notServedYet is the Ready condition of a user the endpoint's config does not serve as wanted (yet): left out
// because the endpoint is full, an endpoint that cannot write its config, or simply not written yet (Pending).
func (r *UserReconciler) notServedYet(ctx context.Context, tu *transferv1alpha1.TransferUser,
	endpoint *transferv1alpha1.TransferEndpoint, want serverconfig.User, servedEntry *serverconfig.User) metav1.Condition {
	signal := signalOf(endpoint)
	if servedEntry == nil && signal.full != "" {
		return r.notReady(tu, transferv1alpha1.ReasonEndpointFull, fmt.Sprintf("endpoint %s does not serve this user: %s",
			endpoint.Name, signal.full), true)
	}
	if servedEntry == nil && signal.notReady != "" {
		// An endpoint that cannot write its config (no host keys, an invalid spec, an API error) would leave
		// the user Pending for ever: say why instead.
		return metav1.Condition{Status: metav1.ConditionFalse, Reason: transferv1alpha1.ReasonEndpointUnavailable, Message: fmt.Sprintf(
			"endpoint %s does not serve this user yet; the endpoint is not ready: %s", endpoint.Name, signal.notReady)}
	}
	logf.FromContext(ctx).Info("the endpoint does not serve this user's current settings yet",
		"endpoint", endpoint.Name, "username", want.Username, "served", servedEntry != nil, "differs", diffOrNew(want, servedEntry))
	return metav1.Condition{Status: metav1.ConditionFalse, Reason: transferv1alpha1.ReasonPending,
		Message: fmt.Sprintf("waiting for endpoint %s to serve this user's current settings", endpoint.Name)}
}

// endpointSignal is all a user's Ready condition reads of its endpoint's status, so that the user reconciler
// runs when it changes (endpointSignalChanged) and not for the rest: the endpoint's count of users, above all,
// changes with every user added or removed.
type endpointSignal struct {
	// available: the endpoint's Available condition is True; unavailable is its message when it is not.
	available   bool
	unavailable string
	// full is UsersServed's message when the endpoint is full (EndpointFull), else "".
	full string
	// notReady is Ready's reason and message when Ready is False, else "".
	notReady string
}

func signalOf(te *transferv1alpha1.TransferEndpoint) endpointSignal {
	var s endpointSignal
	if c := meta.FindStatusCondition(te.Status.Conditions, transferv1alpha1.ConditionAvailable); c != nil {
		s.available = c.Status == metav1.ConditionTrue
		if !s.available {
			s.unavailable = c.Message
		}
	}
	if c := meta.FindStatusCondition(te.Status.Conditions, transferv1alpha1.ConditionUsersServed); c != nil && c.Reason == transferv1alpha1.ReasonEndpointFull {
		s.full = c.Message
	}
	if c := meta.FindStatusCondition(te.Status.Conditions, transferv1alpha1.ConditionReady); c != nil && c.Status == metav1.ConditionFalse {
		s.notReady = c.Reason + ": " + c.Message
	}
	return s
}

// mayConflict are the other users of tu's endpoint that could keep it from being served (users.Candidates), read
// through the cache's index rather than a list of the whole endpoint.
func (r *UserReconciler) mayConflict(ctx context.Context, tu *transferv1alpha1.TransferUser) ([]transferv1alpha1.TransferUser, error) {
	var out []transferv1alpha1.TransferUser
	seen := map[string]bool{}
	for _, claim := range users.Candidates(tu) {
		var list transferv1alpha1.TransferUserList
		if err := r.List(ctx, &list, client.InNamespace(tu.Namespace), client.MatchingFields{indexUserClaims: claim}); err != nil {
			return nil, fmt.Errorf("listing the users of endpoint %s: %w", tu.Spec.EndpointRef.Name, err)
		}
		for _, other := range list.Items {
			if !seen[other.Name] && other.DeletionTimestamp.IsZero() {
				seen[other.Name] = true
				out = append(out, other)
			}
		}
	}
	return out, nil
}

// summarize gives the reason of the weightiest problem (one that refuses the login, then one that revokes a
// credential, then one that keeps an old one) and every problem's message.
func summarize(problems []*users.Problem) (reason, message string) {
	main := mainProblem(problems)
	messages := make([]string, 0, len(problems))
	for _, p := range problems {
		messages = append(messages, p.Message)
	}
	return main.Reason, strings.Join(messages, "; also: ")
}

// mainProblem is the weightiest of problems, which must not be empty: the first of those that weigh most.
func mainProblem(problems []*users.Problem) *users.Problem {
	main := problems[0]
	for _, p := range problems[1:] {
		if weight(p) > weight(main) {
			main = p
		}
	}
	return main
}

func weight(p *users.Problem) int {
	return map[users.Effect]int{users.KeptLastGood: 0, users.Revoked: 1, users.Refused: 2}[p.Effect]
}

func diffOrNew(want serverconfig.User, served *serverconfig.User) []string {
	if served == nil {
		return []string{"not served"}
	}
	return users.Diff(want, *served)
}

// notReady is a Ready=False condition; warn also records a Warning event, for problems the user must fix.
func (r *UserReconciler) notReady(tu *transferv1alpha1.TransferUser, reason, message string, warn bool) metav1.Condition {
	if warn {
		recordEvent(r.Recorder, tu, corev1.EventTypeWarning, reason, message)
	}
	return metav1.Condition{Status: metav1.ConditionFalse, Reason: reason, Message: message}
}

// reconcileGeneratedPassword writes a random password into a Secret the user owns, once: it is never replaced
// while it exists, since whoever reads it may already have handed it on.
func (r *UserReconciler) reconcileGeneratedPassword(ctx context.Context, tu *transferv1alpha1.TransferUser) error {
	if !tu.Spec.GeneratePassword {
		tu.Status.PasswordSecretRef = nil
		return nil
	}
	name := render.GeneratedPasswordSecretName(tu)
	ref := &transferv1alpha1.SecretKeyReference{Name: name, Key: transferv1alpha1.DefaultPasswordKey}
	// Its metadata only: whether it exists and who owns it. The password in it is read by the resolve step.
	existing := &metav1.PartialObjectMetadata{}
	existing.SetGroupVersionKind(corev1.SchemeGroupVersion.WithKind("Secret"))
	err := r.Get(ctx, types.NamespacedName{Namespace: tu.Namespace, Name: name}, existing)
	if err == nil {
		if !metav1.IsControlledBy(existing, tu) {
			return r.passwordSecretTaken(tu, name)
		}
		tu.Status.PasswordSecretRef = ref
		return nil
	}
	if !apierrors.IsNotFound(err) {
		return fmt.Errorf("reading generated password Secret %s: %w", name, err)
	}
	password, err := credentials.GeneratePassword()
	if err != nil {
		return fmt.Errorf("generating a password: %w", err)
	}
	if err := r.Create(ctx, render.GeneratedPasswordSecret(tu, password), client.FieldOwner(render.FieldOwner)); err != nil {
		return fmt.Errorf("creating generated password Secret %s: %w", name, err)
	}
	tu.Status.PasswordSecretRef = ref
	return nil
}

// passwordSecretTaken reports a Secret of the generated password's name that belongs to someone else; the
// operator never overwrites it.
func (r *UserReconciler) passwordSecretTaken(tu *transferv1alpha1.TransferUser, name string) error {
	tu.Status.PasswordSecretRef = nil
	msg := fmt.Sprintf("Secret %s exists and is not owned by this TransferUser, so no password was generated into it; "+
		"delete or rename it, or set spec.password instead of generatePassword", name)
	recordEvent(r.Recorder, tu, corev1.EventTypeWarning, transferv1alpha1.ReasonPasswordSecretConflict, msg)
	return nil
}
