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

package main

import (
	"context"
	"fmt"
	"log/slog"
	"strings"
	"sync"

	corev1 "k8s.io/api/core/v1"
	"k8s.io/apimachinery/pkg/api/meta"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/runtime"
	"k8s.io/client-go/rest"
	toolscache "k8s.io/client-go/tools/cache"
	"sigs.k8s.io/controller-runtime/pkg/cache"
	"sigs.k8s.io/controller-runtime/pkg/client"

	transferv1alpha1 "github.com/pier-dev/pier/api/v1alpha1"
	"github.com/pier-dev/pier/bench/controlplane/internal/progress"
	"github.com/pier-dev/pier/bench/controlplane/internal/served"
	"github.com/pier-dev/pier/internal/controller/render"
)

// childKinds are the kinds of the children an endpoint must have, watched as metadata only (existence is all the
// bench asks of them). Secrets are watched whole: the config Secret's content is what is measured.
var childKinds = []metav1.TypeMeta{
	{APIVersion: "apps/v1", Kind: "Deployment"},
	{APIVersion: "v1", Kind: "Service"},
	{APIVersion: "v1", Kind: "ServiceAccount"},
	{APIVersion: "rbac.authorization.k8s.io/v1", Kind: "Role"},
	{APIVersion: "rbac.authorization.k8s.io/v1", Kind: "RoleBinding"},
}

// requiredChildren are the objects an SFTP endpoint named name has once reconciled: its Deployment, Service, the
// pods' ServiceAccount, Role and RoleBinding, its config Secret and its generated host keys.
func requiredChildren(name string) []progress.Child {
	te := &transferv1alpha1.TransferEndpoint{ObjectMeta: metav1.ObjectMeta{Name: name},
		Spec: transferv1alpha1.TransferEndpointSpec{SFTP: &transferv1alpha1.SFTPSpec{}}}
	n := render.NamesFor(te)
	return []progress.Child{
		{Kind: "Deployment", Name: n.Deployment}, {Kind: "Service", Name: n.Service},
		{Kind: "ServiceAccount", Name: n.ServiceAccount}, {Kind: "Role", Name: n.Role},
		{Kind: "RoleBinding", Name: n.RoleBinding},
		{Kind: "Secret", Name: n.ConfigSecret}, {Kind: "Secret", Name: n.HostKeysSecret},
	}
}

// watcher feeds a tracker (and the stand-in kubelet) from watches of the bench's namespace.
type watcher struct {
	tracker *progress.Tracker
	log     *slog.Logger
	onPod   func(*corev1.Pod)
	badOnce sync.Once
}

// startWatch starts the watches and returns once they have listed what exists; they stop with ctx.
func startWatch(ctx context.Context, cfg *rest.Config, scheme *runtime.Scheme, w *watcher) error {
	c, err := cache.New(cfg, cache.Options{
		Scheme:            scheme,
		DefaultNamespaces: map[string]cache.Config{namespace: {}},
		// Only config Secrets keep their data here: the others' (passwords) are not the bench's business.
		ByObject: map[client.Object]cache.ByObject{&corev1.Secret{}: {Transform: keepConfigData}},
	})
	if err != nil {
		return fmt.Errorf("creating the bench's watches: %w", err)
	}
	watches := []struct {
		obj      client.Object
		set, del func(client.Object)
	}{
		{&transferv1alpha1.TransferEndpoint{}, w.endpoint, func(o client.Object) { w.tracker.EndpointStatus(o.GetName(), false) }},
		{&transferv1alpha1.TransferUser{}, w.user, func(o client.Object) { w.tracker.User(o.GetName(), false) }},
		{&corev1.Secret{}, w.secret, w.secretGone},
		{&corev1.Pod{}, func(o client.Object) { w.onPod(o.(*corev1.Pod)) }, func(client.Object) {}},
	}
	for _, k := range childKinds {
		kind := k.Kind
		watches = append(watches, struct {
			obj      client.Object
			set, del func(client.Object)
		}{&metav1.PartialObjectMetadata{TypeMeta: k},
			func(o client.Object) { w.tracker.Child(kind, o.GetName(), true) },
			func(o client.Object) { w.tracker.Child(kind, o.GetName(), false) }})
	}
	for _, wt := range watches {
		inf, err := c.GetInformer(ctx, wt.obj)
		if err != nil {
			return fmt.Errorf("watching %T: %w", wt.obj, err)
		}
		if _, err := inf.AddEventHandler(handler(wt.set, wt.del)); err != nil {
			return err
		}
	}
	go func() {
		if err := c.Start(ctx); err != nil {
			w.log.Error("the bench's watches stopped", "error", err)
		}
	}()
	if !c.WaitForCacheSync(ctx) {
		return fmt.Errorf("the bench's watches did not sync: %w", ctx.Err())
	}
	return nil
}

// handler calls set for every added or updated object and del for every deleted one.
func handler(set, del func(client.Object)) toolscache.ResourceEventHandler {
	return toolscache.ResourceEventHandlerFuncs{
		AddFunc:    func(obj any) { call(set, obj) },
		UpdateFunc: func(_, obj any) { call(set, obj) },
		DeleteFunc: func(obj any) {
			if tomb, ok := obj.(toolscache.DeletedFinalStateUnknown); ok {
				obj = tomb.Obj
			}
			call(del, obj)
		},
	}
}

func call(f func(client.Object), obj any) {
	if o, ok := obj.(client.Object); ok {
		f(o)
	}
}

func keepConfigData(obj any) (any, error) {
	if s, ok := obj.(*corev1.Secret); ok && !isConfigSecret(s) {
		s.Data, s.StringData = nil, nil
	}
	return obj, nil
}

// isConfigSecret says whether s is an endpoint's config Secret: NAME-config, controlled by TransferEndpoint NAME.
func isConfigSecret(s *corev1.Secret) bool {
	ref := metav1.GetControllerOf(s)
	return ref != nil && ref.Kind == "TransferEndpoint" && s.Name == ref.Name+"-config"
}

// endpoint: the status is current when it was written for the endpoint's generation.
func (w *watcher) endpoint(o client.Object) {
	te := o.(*transferv1alpha1.TransferEndpoint)
	w.tracker.EndpointStatus(te.Name, te.Status.ObservedGeneration == te.Generation)
}

// user: Ready, for the user's current generation.
func (w *watcher) user(o client.Object) {
	tu := o.(*transferv1alpha1.TransferUser)
	c := meta.FindStatusCondition(tu.Status.Conditions, transferv1alpha1.ConditionReady)
	w.tracker.User(tu.Name, c != nil && c.Status == metav1.ConditionTrue && c.ObservedGeneration == tu.Generation)
}

func (w *watcher) secret(o client.Object) {
	s := o.(*corev1.Secret)
	w.tracker.Child("Secret", s.Name, true)
	if !isConfigSecret(s) {
		return
	}
	endpoint := strings.TrimSuffix(s.Name, "-config")
	cfg, err := served.Decode(render.ConfigData(s))
	if err != nil {
		// A config pier-server could not load serves nobody.
		w.badOnce.Do(func() { w.log.Error("a config Secret does not decode", "secret", s.Name, "error", err) })
		w.tracker.Config(endpoint, nil, nil)
		return
	}
	w.tracker.Config(endpoint, cfg.Users, cfg.Lenient)
}

func (w *watcher) secretGone(o client.Object) {
	w.tracker.Child("Secret", o.GetName(), false)
	if s, ok := o.(*corev1.Secret); ok && isConfigSecret(s) {
		w.tracker.Config(strings.TrimSuffix(s.Name, "-config"), nil, nil)
	}
}
