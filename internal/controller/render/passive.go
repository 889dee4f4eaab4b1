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
	"net/netip"

	corev1 "k8s.io/api/core/v1"
)

// PassiveAddresses are the addresses the server config announces for FTP passive mode
// (ConfigInputs.PassiveAddresses): at most one per IP family, IPv4 first, or a single host name.
//
// explicit is spec.ftp.passive.address. A host name stands for every family and is used alone. An IP address
// is used for its family, and the load balancer's first ingress IP of the other family fills in the other, so
// that an endpoint with an explicit IPv4 address on a dual-stack load balancer still names both. With neither,
// the load balancer's first host name (as some cloud load balancers give instead of IPs) is used alone.
func PassiveAddresses(explicit string, ingress []corev1.LoadBalancerIngress) []string {
	var v4, v6 string
	take := func(address string) bool {
		ip, err := netip.ParseAddr(address)
		if err != nil {
			return false
		}
		switch ip = ip.Unmap(); {
		case ip.Is4() && v4 == "":
			v4 = ip.String()
		case ip.Is6() && v6 == "":
			v6 = ip.String()
		}
		return true
	}
	if explicit != "" && !take(explicit) {
		return []string{explicit}
	}
	hostname := ""
	for _, address := range IngressAddresses(ingress) {
		if !take(address) && hostname == "" {
			hostname = address
		}
	}
	var out []string
	for _, a := range []string{v4, v6} {
		if a != "" {
			out = append(out, a)
		}
	}
	if len(out) == 0 && hostname != "" {
		out = []string{hostname}
	}
	return out
}

// IngressAddresses are the load balancer's addresses in the order its status lists them: each ingress point's IP,
// or its host name when it has no IP (as some cloud load balancers give).
func IngressAddresses(ingress []corev1.LoadBalancerIngress) []string {
	var out []string
	for _, in := range ingress {
		if in.IP != "" {
			out = append(out, in.IP)
		} else if in.Hostname != "" {
			out = append(out, in.Hostname)
		}
	}
	return out
}
