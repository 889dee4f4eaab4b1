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

package v1alpha1_test

import (
	"strings"
	"testing"
)

// endpoint wraps a spec in a TransferEndpoint document.
func endpoint(spec string) string {
	return "apiVersion: transfer.pier.dev/v1alpha1\nkind: TransferEndpoint\nmetadata: {name: ep}\nspec:\n" + indent(spec)
}

// user wraps a spec in a TransferUser document.
func user(spec string) string {
	return "apiVersion: transfer.pier.dev/v1alpha1\nkind: TransferUser\nmetadata: {name: u}\nspec:\n" + indent(spec)
}

func indent(s string) string {
	var b strings.Builder
	for _, line := range strings.Split(strings.Trim(s, "\n"), "\n") {
		b.WriteString("  " + line + "\n")
	}
	return b.String()
}

// tlsFromSecret is a certificate source that satisfies the FTPS rules, for cases about something else.
const tlsFromSecret = "tls: {secretRef: {name: tls}}"

// TestInvalidObjectsRejected sends objects that break one rule each and checks that the API server refuses
// them with that rule's message (and the field it concerns).
func TestInvalidObjectsRejected(t *testing.T) {
	cases := []struct {
		name string
		doc  string
		want []string // every string must appear in the error
	}{
		// TransferEndpoint: protocols and ports.
		{"no protocol", endpoint("replicas: 1"),
			[]string{"enable at least one protocol"}},
		{"sftp and ftp share a port", endpoint("sftp: {port: 2100}\nftp: {port: 2100, " + tlsFromSecret + "}"),
			[]string{"spec.sftp.port and spec.ftp.port must differ"}},
		{"implicit FTPS port equals FTP port", endpoint("ftp: {port: 21, tls: {implicitPort: 21, secretRef: {name: tls}}}"),
			[]string{"spec.ftp.tls.implicitPort must differ from spec.ftp.port"}},
		{"implicit FTPS port equals SFTP port", endpoint("sftp: {port: 990}\nftp: {tls: {implicitPort: 990, secretRef: {name: tls}}}"),
			[]string{"spec.ftp.tls.implicitPort must differ from spec.sftp.port"}},
		{"passive range over the server's own ports", endpoint("ftp: {" + tlsFromSecret + ", passive: {portRange: {start: 2000, end: 2200}}}"),
			[]string{"must not include 2121, 2222, 9080 or 9990"}},
		{"endpoint name too long", strings.Replace(endpoint("sftp: {}"), "name: ep", "name: "+strings.Repeat("e", 51), 1),
			[]string{"must be at most 50 characters"}},
		{"endpoint name starting with a digit", strings.Replace(endpoint("sftp: {}"), "name: ep", "name: 1st", 1),
			[]string{"starting with a letter"}},
		{"FTP port inside the passive range", endpoint("ftp: {port: 30005, " + tlsFromSecret + "}"),
			[]string{"spec.ftp.port must lie outside spec.ftp.passive.portRange"}},
		{"SFTP port inside the passive range", endpoint("sftp: {port: 40010}\nftp: {" + tlsFromSecret + ", passive: {portRange: {start: 40000, end: 40020}}}"),
			[]string{"spec.sftp.port must lie outside spec.ftp.passive.portRange"}},
		{"implicit port inside the passive range", endpoint("ftp: {tls: {implicitPort: 30001, secretRef: {name: tls}}}"),
			[]string{"spec.ftp.tls.implicitPort must lie outside spec.ftp.passive.portRange"}},
		{"port above 65535", endpoint("sftp: {port: 70000}"),
			[]string{"spec.sftp.port", "less than or equal to 65535"}},
		{"passive range ends before it starts", endpoint("ftp: {" + tlsFromSecret + ", passive: {portRange: {start: 30010, end: 30000}}}"),
			[]string{"portRange.end must be greater than or equal to portRange.start"}},
		{"passive range over 256 ports", endpoint("ftp: {" + tlsFromSecret + ", passive: {portRange: {start: 40000, end: 40256}}}"),
			[]string{"portRange may hold at most 256 ports"}},
		{"privileged passive port", endpoint("ftp: {" + tlsFromSecret + ", passive: {portRange: {start: 1000, end: 1010}}}"),
			[]string{"spec.ftp.passive.portRange.start", "greater than or equal to 1024"}},
		{"NodePort passive range outside the node port range", endpoint("ftp: {" + tlsFromSecret + ", passive: {portRange: {start: 40000, end: 40010}}}\nservice: {type: NodePort}"),
			[]string{"must lie within 30000-32767"}},
		{"passive address is neither IP nor host name", endpoint("ftp: {" + tlsFromSecret + ", passive: {address: 'ftp example com'}}"),
			[]string{"spec.ftp.passive.address must be an IP address or a lower-case DNS host name"}},
		{"unknown SFTP auth method", endpoint("sftp: {authMethods: [keyboard-interactive]}"),
			[]string{"Unsupported value: \"keyboard-interactive\""}},
		{"generated host key types with the user's host keys", endpoint("sftp: {hostKeys: {secretRef: {name: keys}}, generatedHostKeyTypes: [rsa]}"),
			[]string{"spec.sftp.generatedHostKeyTypes applies only to host keys the operator generates"}},
		{"unknown generated host key type", endpoint("sftp: {generatedHostKeyTypes: [dsa]}"),
			[]string{"spec.sftp.generatedHostKeyTypes[0]", "Unsupported value: \"dsa\""}},
		{"no generated host key type", endpoint("sftp: {generatedHostKeyTypes: []}"),
			[]string{"spec.sftp.generatedHostKeyTypes", "should have at least 1 items"}},

		// TransferEndpoint: FTPS certificates.
		{"FTPS required without a certificate", endpoint("ftp: {}"),
			[]string{"FTPS needs a certificate"}},
		{"implicit FTPS without a certificate", endpoint("ftp: {tls: {mode: Disabled, implicitPort: 990}}"),
			[]string{"FTPS needs a certificate"}},
		{"two certificate sources", endpoint("ftp: {tls: {secretRef: {name: tls}, issuerRef: {name: ca}, dnsNames: [ftp.example.com]}}"),
			[]string{"set only one certificate source"}},
		{"issuerRef without dnsNames", endpoint("ftp: {tls: {issuerRef: {name: ca}}}"),
			[]string{"spec.ftp.tls.issuerRef needs spec.ftp.tls.dnsNames"}},
		{"dnsNames without issuerRef", endpoint("ftp: {tls: {secretRef: {name: tls}, dnsNames: [ftp.example.com]}}"),
			[]string{"spec.ftp.tls.dnsNames is used only with spec.ftp.tls.issuerRef"}},
		{"invalid DNS name", endpoint("ftp: {tls: {issuerRef: {name: ca}, dnsNames: [FTP_Example]}}"),
			[]string{"each DNS name must be a lower-case host name"}},
		{"unknown TLS mode", endpoint("ftp: {tls: {mode: Strict, secretRef: {name: tls}}}"),
			[]string{"Unsupported value: \"Strict\""}},

		// TransferEndpoint: storage, replicas, Service, limits.
		{"two storage sources", endpoint("sftp: {}\nstorage: {emptyDir: {}, persistentVolumeClaim: {claimName: data}}"),
			[]string{"spec.storage needs exactly one source"}},
		{"no storage source", endpoint("sftp: {}\nstorage: {}"),
			[]string{"spec.storage needs exactly one source"}},
		{"replicas over 1 with emptyDir", endpoint("sftp: {}\nreplicas: 2"),
			[]string{"spec.replicas above 1 needs storage every pod shares"}},
		{"FTP on more than one replica", endpoint("ftp: {tls: {mode: Disabled}}\nreplicas: 2\nstorage: {persistentVolumeClaim: {claimName: data}}"),
			[]string{"spec.replicas above 1 cannot serve FTP: a Service keeps a client on one pod per port"}},
		{"replicas over 1 with a ReadWriteOnce claim template", endpoint("sftp: {}\nreplicas: 3\nstorage: {volumeClaimTemplate: {spec: {accessModes: [ReadWriteOnce]}}}"),
			[]string{"spec.replicas above 1 needs storage every pod shares"}},
		{"load balancer source ranges on a ClusterIP Service", endpoint("sftp: {}\nservice: {loadBalancerSourceRanges: [198.51.100.0/24]}"),
			[]string{"spec.service.loadBalancerSourceRanges needs spec.service.type LoadBalancer"}},
		{"externalTrafficPolicy on a ClusterIP Service", endpoint("sftp: {}\nservice: {type: ClusterIP, externalTrafficPolicy: Local}"),
			[]string{"spec.service.externalTrafficPolicy applies only to Service types NodePort and LoadBalancer"}},
		{"two IP families without a dual-stack policy", endpoint("sftp: {}\nservice: {ipFamilies: [IPv4, IPv6]}"),
			[]string{"spec.service.ipFamilies lists two families: set spec.service.ipFamilyPolicy to PreferDualStack or RequireDualStack"}},
		{"two IP families with SingleStack", endpoint("sftp: {}\nservice: {ipFamilyPolicy: SingleStack, ipFamilies: [IPv6, IPv4]}"),
			[]string{"spec.service.ipFamilies lists two families"}},
		{"an IP family twice", endpoint("sftp: {}\nservice: {ipFamilyPolicy: RequireDualStack, ipFamilies: [IPv6, IPv6]}"),
			[]string{"spec.service.ipFamilies must not list a family twice"}},
		{"three IP families", endpoint("sftp: {}\nservice: {ipFamilyPolicy: RequireDualStack, ipFamilies: [IPv4, IPv6, IPv4]}"),
			[]string{"spec.service.ipFamilies", "must have at most 2 items"}},
		{"unknown IP family", endpoint("sftp: {}\nservice: {ipFamilies: [IPv5]}"),
			[]string{"spec.service.ipFamilies[0]", "Unsupported value: \"IPv5\""}},
		{"unknown IP family policy", endpoint("sftp: {}\nservice: {ipFamilyPolicy: DualStack}"),
			[]string{"spec.service.ipFamilyPolicy", "Unsupported value: \"DualStack\""}},
		{"bad CIDR in allowedSourceRanges", endpoint("sftp: {}\nallowedSourceRanges: [198.51.100.0/33]"),
			[]string{"spec.allowedSourceRanges[0]", "must be a network in CIDR notation"}},
		{"idle timeout too short", endpoint("sftp: {}\nlimits: {idleTimeout: 1s}"),
			[]string{"idleTimeout must be a duration between 10s and 24h"}},
		{"idle timeout not a duration", endpoint("sftp: {}\nlimits: {idleTimeout: soon}"),
			[]string{"spec.limits.idleTimeout", "should match"}},
		{"negative connection limit", endpoint("sftp: {}\nlimits: {maxConnections: -1}"),
			[]string{"spec.limits.maxConnections", "greater than or equal to 0"}},

		// TransferUser.
		{"user without endpointRef", user("username: alice\ngeneratePassword: true"),
			[]string{"spec.endpointRef", "Required value"}},
		{"username too short", user("endpointRef: {name: ep}\nusername: al\ngeneratePassword: true"),
			[]string{"spec.username", "at least 3 chars long"}},
		{"username starts with a dash", user("endpointRef: {name: ep}\nusername: -alice\ngeneratePassword: true"),
			[]string{"username may contain only letters, digits"}},
		{"username with a slash", user("endpointRef: {name: ep}\nusername: alice/bob\ngeneratePassword: true"),
			[]string{"username may contain only letters, digits"}},
		{"home directory with NUL", user("endpointRef: {name: ep}\nusername: alice\nhomeDirectory: \"/alice\\0x\"\ngeneratePassword: true"),
			[]string{"homeDirectory must not contain control characters"}},
		{"home directory with a line break", user("endpointRef: {name: ep}\nusername: alice\nhomeDirectory: \"/alice\\nx\"\ngeneratePassword: true"),
			[]string{"homeDirectory must not contain control characters"}},
		{"home directory / without Administrator", user("endpointRef: {name: ep}\nusername: alice\nhomeDirectory: /\ngeneratePassword: true"),
			[]string{"only a user with spec.access: Administrator may have it"}},
		{"home directory // without Administrator", user("endpointRef: {name: ep}\nusername: alice\nhomeDirectory: //\naccess: Standard\ngeneratePassword: true"),
			[]string{"only a user with spec.access: Administrator may have it"}},
		{"unknown access", user("endpointRef: {name: ep}\nusername: alice\naccess: Root\ngeneratePassword: true"),
			[]string{"spec.access", "Unsupported value"}},
		{"relative home directory", user("endpointRef: {name: ep}\nusername: alice\nhomeDirectory: alice\ngeneratePassword: true"),
			[]string{"homeDirectory must be an absolute path"}},
		{"home directory escaping with ..", user("endpointRef: {name: ep}\nusername: alice\nhomeDirectory: /alice/../bob\ngeneratePassword: true"),
			[]string{"homeDirectory must not contain '.' or '..' segments"}},
		{"password and generatePassword", user("endpointRef: {name: ep}\nusername: alice\npassword: {secretRef: {name: pw}}\ngeneratePassword: true"),
			[]string{"set either spec.password.secretRef"}},
		{"no way to log in", user("endpointRef: {name: ep}\nusername: alice"),
			[]string{"a user needs a way to log in"}},
		{"FTP user with keys only", user("endpointRef: {name: ep}\nusername: alice\nprotocols: [ftp]\nauthorizedKeys: {secretRef: {name: keys}}"),
			[]string{"FTP logs in with a password only"}},
		{"preset combined with a permission", user("endpointRef: {name: ep}\nusername: alice\ngeneratePassword: true\npermissions: [ReadOnly, upload]"),
			[]string{"a preset (ReadWrite, ReadOnly or UploadOnly) must be the only entry"}},
		{"unknown permission", user("endpointRef: {name: ep}\nusername: alice\ngeneratePassword: true\npermissions: [chmod]"),
			[]string{"Unsupported value: \"chmod\""}},
		{"empty authorizedKeys", user("endpointRef: {name: ep}\nusername: alice\nauthorizedKeys: {}"),
			[]string{"spec.authorizedKeys needs secretRef, keys, or both"}},
		{"inline key that is not an authorized_keys line", user("endpointRef: {name: ep}\nusername: alice\nauthorizedKeys: {keys: ['not a key']}"),
			[]string{"each key must be one authorized_keys line"}},
		{"bad Secret key name", user("endpointRef: {name: ep}\nusername: alice\npassword: {secretRef: {name: pw, key: 'pass word'}}"),
			[]string{"a Secret key may contain only letters, digits"}},
		{"two factors without keys", user("endpointRef: {name: ep}\nusername: alice\ngeneratePassword: true\nrequireAllAuthMethods: true"),
			[]string{"spec.requireAllAuthMethods needs both a password"}},
		{"two factors over FTP", user("endpointRef: {name: ep}\nusername: alice\ngeneratePassword: true\nauthorizedKeys: {secretRef: {name: k}}\nprotocols: [ftp]\nrequireAllAuthMethods: true"),
			[]string{"cannot log in over FTP, which has no keys"}},
		{"bad CIDR for a user", user("endpointRef: {name: ep}\nusername: alice\ngeneratePassword: true\nallowedSourceRanges: [not-a-network]"),
			[]string{"must be a network in CIDR notation"}},
		{"generated password for a name too long for its Secret", strings.Replace(user("endpointRef: {name: ep}\nusername: alice\ngeneratePassword: true"), "name: u}", "name: "+strings.Repeat("u", 245)+"}", 1),
			[]string{"with spec.generatePassword, a TransferUser's name must be at most 244 characters"}},
	}
	ns := env.Namespace(t)
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			err := create(t, tc.doc, ns)
			if err == nil {
				t.Fatalf("the API server accepted an invalid object:\n%s", tc.doc)
			}
			// A CEL runtime error means a rule is broken for this input, even if its message is included.
			for _, broken := range []string{"no such key", "evaluating rule", "type conversion error"} {
				if strings.Contains(err.Error(), broken) {
					t.Errorf("a validation rule failed to evaluate (%q) instead of judging the object:\n%v", broken, err)
				}
			}
			for _, want := range tc.want {
				if !strings.Contains(err.Error(), want) {
					t.Errorf("error does not say %q:\n%v", want, err)
				}
			}
		})
	}
	if len(cases) < 20 {
		t.Fatalf("only %d invalid objects; the API contract wants at least 20", len(cases))
	}
}
