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

package secretwatch

import (
	"context"
	"fmt"
	"time"

	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/runtime"
	"k8s.io/apimachinery/pkg/runtime/serializer"
	"k8s.io/apimachinery/pkg/watch"
	"k8s.io/client-go/rest"
)

// Secrets lists and watches the Secrets of one namespace: NewSecrets, or client-go's
// CoreV1().Secrets(namespace) where a clientset is at hand anyway (tests).
type Secrets interface {
	List(ctx context.Context, opts metav1.ListOptions) (*corev1.SecretList, error)
	Watch(ctx context.Context, opts metav1.ListOptions) (watch.Interface, error)
}

// NewSecrets returns the Secrets of namespace through the API server cfg points at, with a REST client that
// knows the core API group's types only. client-go's typed core client would do the same requests, but importing
// it registers every built-in API group (k8s.io/client-go/kubernetes/scheme) when the process starts: measured,
// 4 ms of pier-server's start, about a third of it.
func NewSecrets(cfg *rest.Config, namespace string) (Secrets, error) {
	scheme := runtime.NewScheme()
	// AddToScheme registers Secret, SecretList and, for this group version, metav1's ListOptions and WatchEvent,
	// which the query parameters and the watch stream are encoded with.
	if err := corev1.AddToScheme(scheme); err != nil {
		return nil, fmt.Errorf("registering the core API types: %w", err)
	}
	c := rest.CopyConfig(cfg)
	c.APIPath = "/api"
	c.GroupVersion = &corev1.SchemeGroupVersion
	c.NegotiatedSerializer = serializer.NewCodecFactory(scheme).WithoutConversion()
	if c.UserAgent == "" {
		c.UserAgent = rest.DefaultKubernetesUserAgent()
	}
	client, err := rest.RESTClientFor(c)
	if err != nil {
		return nil, fmt.Errorf("creating a Kubernetes client: %w", err)
	}
	return &restSecrets{client: client, namespace: namespace, params: runtime.NewParameterCodec(scheme)}, nil
}

// restSecrets makes the requests client-go's generated SecretInterface makes for List and Watch.
type restSecrets struct {
	client    *rest.RESTClient
	namespace string
	params    runtime.ParameterCodec
}

func (s *restSecrets) List(ctx context.Context, opts metav1.ListOptions) (*corev1.SecretList, error) {
	list := &corev1.SecretList{}
	err := s.client.Get().Namespace(s.namespace).Resource("secrets").VersionedParams(&opts, s.params).
		Timeout(timeoutOf(opts)).Do(ctx).Into(list)
	return list, err
}

func (s *restSecrets) Watch(ctx context.Context, opts metav1.ListOptions) (watch.Interface, error) {
	opts.Watch = true
	return s.client.Get().Namespace(s.namespace).Resource("secrets").VersionedParams(&opts, s.params).
		Timeout(timeoutOf(opts)).Watch(ctx)
}

// timeoutOf is the request's own timeout for a list or watch that asks the API server to end it after
// TimeoutSeconds, as the generated clients set it; 0 (none) otherwise.
func timeoutOf(opts metav1.ListOptions) time.Duration {
	if opts.TimeoutSeconds == nil {
		return 0
	}
	return time.Duration(*opts.TimeoutSeconds) * time.Second
}
