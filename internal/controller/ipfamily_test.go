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

package controller_test

import (
	"context"
	"fmt"
	"net/netip"
	"slices"
	"strings"
	"testing"

	corev1 "k8s.io/api/core/v1"
	"k8s.io/apimachinery/pkg/api/meta"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"sigs.k8s.io/controller-runtime/pkg/client"

	transferv1alpha1 "github.com/pier-dev/pier/api/v1alpha1"
)

// The API server of this suite has an IPv4 and an IPv6 Service range (controlplane.DualStackServices), IPv4 first.

// serviceFamilies waits until the endpoint's Service has the IP families want, with one cluster IP of each, in
// that order, and returns the Service.
func serviceFamilies(t *testing.T, te *transferv1alpha1.TransferEndpoint, want ...corev1.IPFamily) *corev1.Service {
	t.Helper()
	svc := &corev1.Service{}
	eventually(t, func() error {
		if err := k8s.Get(context.Background(), client.ObjectKey{Namespace: te.Namespace, Name: te.Name}, svc); err != nil {
			return err
		}
		if !slices.Equal(svc.Spec.IPFamilies, want) || len(svc.Spec.ClusterIPs) != len(want) {
			return fmt.Errorf("Service families %v, cluster IPs %v; want %v", svc.Spec.IPFamilies, svc.Spec.ClusterIPs, want)
		}
		for i, ip := range svc.Spec.ClusterIPs {
			addr, err := netip.ParseAddr(ip)
			if err != nil || addr.Is4() != (want[i] == corev1.IPv4Protocol) {
				return fmt.Errorf("cluster IP %s is not %s", ip, want[i])
			}
		}
		return nil
	})
	return svc
}

// setIngress gives the Service the load-balancer addresses a cloud would.
func setIngress(t *testing.T, svc *corev1.Service, ips ...string) {
	t.Helper()
	eventually(t, func() error {
		if err := k8s.Get(context.Background(), client.ObjectKeyFromObject(svc), svc); err != nil {
			return err
		}
		svc.Status.LoadBalancer.Ingress = nil
		for _, ip := range ips {
			svc.Status.LoadBalancer.Ingress = append(svc.Status.LoadBalancer.Ingress, corev1.LoadBalancerIngress{IP: ip})
		}
		return k8s.Status().Update(context.Background(), svc)
	})
}

// passiveAddresses waits until the served config announces want.
func passiveAddresses(t *testing.T, te *transferv1alpha1.TransferEndpoint, want ...string) {
	t.Helper()
	eventually(t, func() error {
		cfg, _ := servedConfig(t, te)
		if got := cfg.FTP.Passive.Addresses(); !slices.Equal(got, want) {
			return fmt.Errorf("passive publicAddresses = %q, want %q", got, want)
		}
		return nil
	})
}

// statusURLs waits until status.addresses lists exactly want, in order.
func statusURLs(t *testing.T, te *transferv1alpha1.TransferEndpoint, want ...string) {
	t.Helper()
	eventually(t, func() error {
		if err := k8s.Get(context.Background(), client.ObjectKeyFromObject(te), te); err != nil {
			return err
		}
		var got []string
		for _, a := range te.Status.Addresses {
			got = append(got, a.URL)
		}
		if !slices.Equal(got, want) {
			return fmt.Errorf("status.addresses = %q, want %q", got, want)
		}
		return nil
	})
}

// TestDualStackEndpoint: a RequireDualStack endpoint gets a Service of both families; the load balancer's IPv4
// and IPv6 addresses both reach the server config and status (IPv6 bracketed); an explicit IPv4 passive address
// replaces only the load balancer's IPv4 one; back to SingleStack, the Service releases its second family.
func TestDualStackEndpoint(t *testing.T) {
	ns := env.Namespace(t)
	te := newEndpoint(ns, "dual")
	te.Spec.Service.Type = "LoadBalancer"
	te.Spec.Service.IPFamilyPolicy = ptr(corev1.IPFamilyPolicyRequireDualStack)
	create(t, te)
	svc := serviceFamilies(t, te, corev1.IPv4Protocol, corev1.IPv6Protocol)
	if p := svc.Spec.IPFamilyPolicy; p == nil || *p != corev1.IPFamilyPolicyRequireDualStack {
		t.Fatalf("Service ipFamilyPolicy = %v", p)
	}
	condition(t, te, transferv1alpha1.ConditionAddressReady, metav1.ConditionFalse, "LoadBalancerPending")

	setIngress(t, svc, "2001:db8::7", "203.0.113.7")
	passiveAddresses(t, te, "203.0.113.7", "2001:db8::7")
	c := condition(t, te, transferv1alpha1.ConditionAddressReady, metav1.ConditionTrue, "LoadBalancer")
	if !strings.Contains(c.Message, "203.0.113.7 and 2001:db8::7") {
		t.Errorf("AddressReady does not name both addresses: %s", c.Message)
	}
	statusURLs(t, te,
		"sftp://[2001:db8::7]:22", "ftp://[2001:db8::7]:21", "ftps://[2001:db8::7]:990",
		"sftp://203.0.113.7:22", "ftp://203.0.113.7:21", "ftps://203.0.113.7:990")

	update(t, te, func(te *transferv1alpha1.TransferEndpoint) { te.Spec.FTP.Passive.Address = "198.51.100.4" })
	passiveAddresses(t, te, "198.51.100.4", "2001:db8::7")
	condition(t, te, transferv1alpha1.ConditionAddressReady, metav1.ConditionTrue, "Configured")

	update(t, te, func(te *transferv1alpha1.TransferEndpoint) {
		te.Spec.Service.IPFamilyPolicy = ptr(corev1.IPFamilyPolicySingleStack)
	})
	serviceFamilies(t, te, corev1.IPv4Protocol)
	reconciled(t, te)
}

// TestIPv6OnlyEndpoint: a single-stack IPv6 endpoint gets an IPv6 Service, and its load balancer's IPv6 address
// reaches the server config and status.
func TestIPv6OnlyEndpoint(t *testing.T) {
	ns := env.Namespace(t)
	te := newEndpoint(ns, "v6")
	te.Spec.Service.Type = "LoadBalancer"
	te.Spec.Service.IPFamilyPolicy = ptr(corev1.IPFamilyPolicySingleStack)
	te.Spec.Service.IPFamilies = []corev1.IPFamily{corev1.IPv6Protocol}
	create(t, te)
	svc := serviceFamilies(t, te, corev1.IPv6Protocol)
	setIngress(t, svc, "2001:db8::9")
	passiveAddresses(t, te, "2001:db8::9")
	statusURLs(t, te, "sftp://[2001:db8::9]:22", "ftp://[2001:db8::9]:21", "ftps://[2001:db8::9]:990")
}

// TestPreferDualStackKeepsItsSecondFamily: a PreferDualStack endpoint asking for [IPv4] gets both families from
// the API server, and later updates of the Service keep them instead of failing on a release of the second
// family. The default (no policy) stays single-stack IPv4.
func TestPreferDualStackKeepsItsSecondFamily(t *testing.T) {
	ns := env.Namespace(t)
	single := newEndpoint(ns, "single")
	create(t, single)
	serviceFamilies(t, single, corev1.IPv4Protocol)

	te := newEndpoint(ns, "prefer")
	te.Spec.Service.IPFamilyPolicy = ptr(corev1.IPFamilyPolicyPreferDualStack)
	te.Spec.Service.IPFamilies = []corev1.IPFamily{corev1.IPv4Protocol}
	create(t, te)
	serviceFamilies(t, te, corev1.IPv4Protocol, corev1.IPv6Protocol)

	update(t, te, func(te *transferv1alpha1.TransferEndpoint) {
		te.Spec.Service.Annotations = map[string]string{"example.com/changed": "yes"}
	})
	eventually(t, func() error {
		svc := serviceFamilies(t, te, corev1.IPv4Protocol, corev1.IPv6Protocol)
		if svc.Annotations["example.com/changed"] != "yes" {
			return fmt.Errorf("the Service was not updated: %v", svc.Annotations)
		}
		return nil
	})
	reconciled(t, te)
}

// TestPrimaryFamilyChangeIsExplained: Kubernetes cannot change a Service's primary IP family; asking for it
// fails the reconcile with a message that says what to do, and the Service stays as it was.
func TestPrimaryFamilyChangeIsExplained(t *testing.T) {
	ns := env.Namespace(t)
	te := newEndpoint(ns, "flip")
	create(t, te)
	serviceFamilies(t, te, corev1.IPv4Protocol)
	update(t, te, func(te *transferv1alpha1.TransferEndpoint) {
		te.Spec.Service.IPFamilyPolicy = ptr(corev1.IPFamilyPolicySingleStack)
		te.Spec.Service.IPFamilies = []corev1.IPFamily{corev1.IPv6Protocol}
	})
	c := condition(t, te, transferv1alpha1.ConditionReady, metav1.ConditionFalse, "ReconcileFailed")
	if !strings.Contains(c.Message, "primary IP family IPv4") || !strings.Contains(c.Message, "delete the Service") {
		t.Errorf("Ready does not explain the refused change: %s", c.Message)
	}
	svc := serviceFamilies(t, te, corev1.IPv4Protocol)

	// Deleting the Service, as the message says, gets one of the new family.
	if err := k8s.Delete(context.Background(), svc); err != nil {
		t.Fatal(err)
	}
	serviceFamilies(t, te, corev1.IPv6Protocol)
	reconciled(t, te)
}

// reconciled waits until the endpoint's last reconcile did not fail.
func reconciled(t *testing.T, te *transferv1alpha1.TransferEndpoint) {
	t.Helper()
	eventually(t, func() error {
		if err := k8s.Get(context.Background(), client.ObjectKeyFromObject(te), te); err != nil {
			return err
		}
		c := meta.FindStatusCondition(te.Status.Conditions, transferv1alpha1.ConditionReady)
		if c == nil || c.ObservedGeneration != te.Generation || c.Reason == "ReconcileFailed" {
			return fmt.Errorf("Ready is %+v", c)
		}
		return nil
	})
}
