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

// Package secretwatch follows one key of one Secret through the Kubernetes API. pier-server uses it to see a new
// configuration within a second, where the kubelet refreshes a mounted Secret only every minute or so.
//
// It is a plain list-then-watch loop rather than a client-go informer: for a single object that is short, and it
// lets Synced mean exactly "the content handed out is the API server's current one". An informer resumes a broken
// watch without listing again, which would leave that unknown after an outage.
package secretwatch

import (
	"bytes"
	"context"
	"fmt"
	"log/slog"
	"math/rand/v2"
	"sync/atomic"
	"time"

	corev1 "k8s.io/api/core/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/fields"
	"k8s.io/apimachinery/pkg/watch"
)

const (
	// Retries after a failure start at minRetryDelay and double up to maxRetryDelay, as client-go's reflector does.
	minRetryDelay = 500 * time.Millisecond
	maxRetryDelay = 30 * time.Second
	// While the API server stays unreachable, the failure is logged again at most this often.
	failureLogInterval = time.Minute
	// A watch is closed by the API server after a random 5 to 10 minutes (as client-go's reflector asks), and the
	// Secret is listed again: one small request every few minutes.
	minWatchTimeout = 5 * time.Minute
	// A watch that closes sooner than this without delivering anything is treated as a failure, so a proxy that
	// drops every watch at once does not make the loop spin.
	shortWatch = time.Second
	// How long a list may take.
	listTimeout = 30 * time.Second
)

// Watcher follows one key of the Secret Namespace/Name: the first of Keys that the Secret holds. Set the fields,
// then call Run.
//
// It lists and watches with the field selector metadata.name=Name, so it needs no more than get, list and watch
// on that one Secret: the API server authorizes such a request against a Role's resourceNames.
type Watcher struct {
	// Secrets are the Secrets of Namespace (NewSecrets).
	Secrets   Secrets
	Namespace string
	Name      string
	// Keys are the keys to follow, in order of preference: the operator writes the config as config.yaml, or
	// gzipped as config.yaml.gz when it is large.
	Keys []string
	// OnChange receives the key's content after every successful list (the first one and the one after each
	// reconnection, because the caller may have used another source meanwhile) and whenever a watch event
	// changes it. It runs on Run's goroutine, and Synced already reports true when it is called.
	OnChange func(data []byte)
	Log      *slog.Logger // nil means slog.Default()

	synced atomic.Bool
}

// Synced reports whether the watch is connected and the Secret holds the key: the content last given to
// OnChange is then the API server's current one. It is false before the first list, while the API server cannot
// be reached or refuses the requests, and while the Secret or its key is missing. A stopped API server is noticed
// at once (the watch's connection closes and the next list fails); a connection that goes silent is noticed by
// client-go's HTTP/2 health check, within a minute.
func (w *Watcher) Synced() bool { return w.synced.Load() }

// Run lists and watches the Secret until ctx is done, reconnecting with backoff after failures.
func (w *Watcher) Run(ctx context.Context) {
	log := w.Log
	if log == nil {
		log = slog.Default()
	}
	r := &run{Watcher: w, log: log.With("secret", w.Namespace+"/"+w.Name, "keys", w.Keys), delay: minRetryDelay}
	for {
		err := r.listAndWatch(ctx)
		if ctx.Err() != nil {
			w.synced.Store(false)
			return
		}
		if err == nil {
			continue // the watch timed out: list again at once
		}
		w.synced.Store(false)
		r.failed(err)
		select {
		case <-ctx.Done():
			return
		case <-time.After(jitter(r.delay)):
		}
		r.delay = min(2*r.delay, maxRetryDelay)
	}
}

// run is the state of one Run, used by its goroutine only.
type run struct {
	*Watcher
	log   *slog.Logger
	delay time.Duration // before the next retry

	started      bool      // the Secret has been listed once
	failingSince time.Time // zero while the API server answers
	lastLogged   time.Time // when the current failure was last logged
	missing      string    // why the key is missing, as last logged; empty while it is there
}

// listAndWatch lists the Secret, hands its content over, and follows it until the watch ends. It returns nil when
// the watch ended normally, so the caller lists again at once.
func (r *run) listAndWatch(ctx context.Context) error {
	secrets := r.Secrets
	selector := fields.OneTermEqualSelector("metadata.name", r.Name).String()
	// A list of one small object is quick; the timeout keeps a hung connection from stalling the loop.
	listCtx, cancel := context.WithTimeout(ctx, listTimeout)
	list, err := secrets.List(listCtx, metav1.ListOptions{FieldSelector: selector})
	cancel()
	if err != nil {
		return fmt.Errorf("listing Secret %s/%s: %w", r.Namespace, r.Name, err)
	}
	r.connected()
	var secret *corev1.Secret
	if len(list.Items) > 0 {
		secret = &list.Items[0]
	}
	last := r.observe(secret, nil)

	timeout := int64((minWatchTimeout + rand.N(minWatchTimeout)).Seconds())
	watcher, err := secrets.Watch(ctx, metav1.ListOptions{
		FieldSelector: selector, ResourceVersion: list.ResourceVersion, TimeoutSeconds: &timeout,
	})
	if err != nil {
		return fmt.Errorf("watching Secret %s/%s: %w", r.Namespace, r.Name, err)
	}
	defer watcher.Stop()
	opened, events := time.Now(), 0
	for {
		var event watch.Event
		var ok bool
		select {
		case <-ctx.Done():
			return nil
		case event, ok = <-watcher.ResultChan():
		}
		if !ok {
			if events == 0 && time.Since(opened) < shortWatch {
				return fmt.Errorf("watching Secret %s/%s: the watch closed as soon as it opened", r.Namespace, r.Name)
			}
			return nil
		}
		events++
		switch event.Type {
		case watch.Added, watch.Modified:
			secret, _ := event.Object.(*corev1.Secret)
			last = r.observe(secret, last)
		case watch.Deleted:
			r.observe(nil, last)
			last = nil
		case watch.Error:
			err := apierrors.FromObject(event.Object)
			if apierrors.IsResourceExpired(err) || apierrors.IsGone(err) {
				return nil // the API server forgot our resource version: list again
			}
			return fmt.Errorf("watching Secret %s/%s: %w", r.Namespace, r.Name, err)
		}
	}
}

// observe records what the API server says the Secret is (nil: it does not exist), calls OnChange when the key's
// content differs from last, and returns the content. A missing Secret or key is logged once and otherwise
// ignored: the caller keeps its last good content.
func (r *run) observe(secret *corev1.Secret, last []byte) []byte {
	var data []byte
	var found bool
	if secret != nil {
		for _, key := range r.Keys {
			if data, found = secret.Data[key]; found {
				break
			}
		}
	}
	if !found {
		r.synced.Store(false)
		why := "the Secret does not exist"
		if secret != nil {
			why = "the Secret has no such key"
		}
		if why != r.missing {
			r.missing = why
			r.log.Warn(why+"; keeping the last good configuration until it appears", "reason", why)
		}
		return nil
	}
	if r.missing != "" {
		r.log.Info("the Secret holds the key again")
		r.missing = ""
	}
	// Synced before OnChange: a caller that checks Synced and then applies another source under the same lock
	// as OnChange can never apply that source after this content.
	r.synced.Store(true)
	if last == nil || !bytes.Equal(data, last) {
		if r.OnChange != nil {
			r.OnChange(data)
		}
	}
	return data
}

// connected logs the first successful list and the end of an outage, and resets the retry delay.
func (r *run) connected() {
	r.delay = minRetryDelay
	switch {
	case !r.started:
		r.started = true
		r.log.Info("watching the configuration Secret through the Kubernetes API")
	case !r.failingSince.IsZero():
		r.log.Info("watching the configuration Secret again", "after", time.Since(r.failingSince).Round(time.Second))
	}
	r.failingSince = time.Time{}
}

// failed logs a failure: at once when it starts an outage, then at most once every failureLogInterval, so an
// unreachable API server does not flood the log with one line per retry.
func (r *run) failed(err error) {
	now := time.Now()
	attrs := []any{"error", err}
	if apierrors.IsForbidden(err) {
		attrs = append(attrs, "hint", fmt.Sprintf(
			"the pod's ServiceAccount needs a Role allowing get, list and watch on secrets with resourceNames [%s]", r.Name))
	}
	if r.failingSince.IsZero() {
		r.failingSince, r.lastLogged = now, now
		r.log.Warn("cannot watch the configuration Secret; serving the last good configuration and "+
			"following the mounted file until the Kubernetes API answers again", attrs...)
		return
	}
	if now.Sub(r.lastLogged) >= failureLogInterval {
		r.lastLogged = now
		r.log.Warn("still cannot watch the configuration Secret",
			append(attrs, "for", now.Sub(r.failingSince).Round(time.Second))...)
	}
}

// jitter spreads d over [0.75d, 1.25d), so that the pods of an endpoint do not retry in lockstep.
func jitter(d time.Duration) time.Duration {
	return d*3/4 + rand.N(d/2)
}
