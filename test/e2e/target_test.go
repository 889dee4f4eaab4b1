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

package e2e

import (
	"context"

	"sigs.k8s.io/controller-runtime/pkg/client"

	"github.com/pier-dev/pier/internal/localcluster"
)

// Target is a cluster with pier installed, and the few things the suite cannot do through the Kubernetes API
// alone. The local target is internal/localcluster; docs/testing.md describes a real-cluster target.
type Target interface {
	// Client acts as a cluster admin.
	Client() client.Client
	// Endpoint says where clients on this machine reach the endpoint (host 127.0.0.1 locally; for a real
	// cluster, the Service's load-balancer address with the Service ports) and which host keys to expect.
	Endpoint(ctx context.Context, namespace, name string) (*localcluster.Endpoint, error)
	// CAFile is the CA that the endpoint's FTPS certificates chain to.
	CAFile() string
	// RotateCertificate makes the issuer write a new certificate into the endpoint's TLS Secret, as a
	// cert-manager renewal does.
	RotateCertificate(ctx context.Context, namespace, certificate string) error
}

// localTarget is the local cluster of make demo.
type localTarget struct{ cluster *localcluster.Cluster }

func (l *localTarget) Client() client.Client { return l.cluster.Client }
func (l *localTarget) CAFile() string        { return l.cluster.CA.CertFile }

func (l *localTarget) Endpoint(ctx context.Context, namespace, name string) (*localcluster.Endpoint, error) {
	return localcluster.EndpointInfo(ctx, l.cluster.Client, namespace, name)
}

func (l *localTarget) RotateCertificate(ctx context.Context, namespace, certificate string) error {
	return l.cluster.RotateCertificate(ctx, namespace, certificate)
}
