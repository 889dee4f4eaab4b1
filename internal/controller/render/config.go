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
	"crypto/sha256"
	"encoding/hex"
	"fmt"
	"maps"
	"path"
	"slices"
	"strconv"
	"strings"

	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"

	"github.com/pier-dev/pier/api/v1alpha1"
	"github.com/pier-dev/pier/internal/serverconfig"
)

// Addresses pier-server listens on inside the pod: every interface, the container ports.
var (
	sftpListenAddress     = listenAddress(SFTPContainerPort)
	ftpListenAddress      = listenAddress(FTPContainerPort)
	implicitListenAddress = listenAddress(FTPSContainerPort)
	healthListenAddress   = listenAddress(HealthContainerPort)
)

// The files of a kubernetes.io/tls Secret, as mounted at TLSMountPath.
const (
	tlsCertKey = "tls.crt"
	tlsKeyKey  = "tls.key"
)

// ConfigInputs is what the server configuration needs beyond the endpoint itself. The reconciler gathers it from
// other objects, so that ServerConfig stays a pure function.
type ConfigInputs struct {
	// Users are the resolved logins, already validated and sorted by the caller; they are rendered as given.
	Users []serverconfig.User
	// HostKeyNames are the keys of the host-key Secret that hold private keys. Each becomes the file
	// HostKeysMountPath/<name>; they are sorted, so the Secret's key order does not matter.
	HostKeyNames []string
	// PassiveAddresses are where FTP clients reach the endpoint, at most one per IP family or a single host name
	// (config.Passive.PublicAddresses): spec.ftp.passive.address and the Service's discovered load-balancer
	// addresses. When there are none, ServerConfig uses spec.ftp.passive.address; when that is empty too,
	// pier-server announces the address the client connected to.
	PassiveAddresses []string
}

// ServerConfig renders the pier-server configuration of the endpoint, fully resolved: ApplyDefaults has been called,
// so the file shows every value the server uses. The caller validates it (config.Validate) before writing it.
func ServerConfig(te *v1alpha1.TransferEndpoint, in ConfigInputs) *serverconfig.Config {
	cfg := &serverconfig.Config{
		APIVersion:          serverconfig.APIVersion,
		Kind:                serverconfig.Kind,
		SFTP:                sftpConfig(te, in.HostKeyNames),
		FTP:                 ftpConfig(te, in.PassiveAddresses),
		Health:              serverconfig.Health{Address: healthListenAddress},
		Storage:             serverconfig.Storage{Root: DataMountPath},
		Limits:              limitsConfig(te.Spec.Limits),
		AllowedSourceRanges: cidrStrings(te.Spec.AllowedSourceRanges),
		// ApplyDefaults fills in each user's defaults in place: copy the slice so the caller's users stay as
		// they were.
		Users: slices.Clone(in.Users),
	}
	cfg.ApplyDefaults()
	return cfg
}

// sftpConfig is the SFTP section, nil when SFTP is off.
func sftpConfig(te *v1alpha1.TransferEndpoint, hostKeyNames []string) *serverconfig.SFTP {
	if !sftpEnabled(te) {
		return nil
	}
	names := slices.Clone(hostKeyNames)
	slices.Sort(names)
	var files []string
	for _, name := range names {
		files = append(files, path.Join(HostKeysMountPath, name))
	}
	var methods []serverconfig.AuthMethod
	for _, m := range te.Spec.SFTP.AuthMethods {
		methods = append(methods, serverconfig.AuthMethod(m))
	}
	return &serverconfig.SFTP{
		Address:      sftpListenAddress,
		HostKeyFiles: files,
		AuthMethods:  methods,
	}
}

// ftpConfig is the FTP section, nil when FTP is off.
func ftpConfig(te *v1alpha1.TransferEndpoint, passiveAddresses []string) *serverconfig.FTP {
	if !ftpEnabled(te) {
		return nil
	}
	spec := te.Spec.FTP
	ftp := &serverconfig.FTP{
		Address: ftpListenAddress,
		TLS: serverconfig.TLS{
			Mode:       serverconfig.TLSMode(spec.TLS.Mode),
			MinVersion: serverconfig.TLSVersion(spec.TLS.MinVersion),
		},
		Passive: serverconfig.Passive{
			PortRange: serverconfig.PortRange{
				Start: int(spec.Passive.PortRange.Start),
				End:   int(spec.Passive.PortRange.End),
			},
		},
		Active: serverconfig.Active{Enabled: spec.Active.Enabled},
	}
	addresses := slices.Clone(passiveAddresses)
	if len(addresses) == 0 && spec.Passive.Address != "" {
		// The caller resolves the addresses; falling back to the spec's own keeps an explicit address even when
		// the caller passed none.
		addresses = []string{spec.Passive.Address}
	}
	// One address goes in the older single-address field, which pier-server versions from before
	// publicAddresses also read: during an upgrade the old pods keep taking new configs (and revocations)
	// until they are replaced, instead of refusing an unknown field and serving their last good config.
	if len(addresses) == 1 {
		ftp.Passive.PublicAddress = addresses[0]
	} else {
		ftp.Passive.PublicAddresses = addresses
	}
	if _, ok := implicitPort(te); ok {
		ftp.ImplicitTLSAddress = implicitListenAddress
	}
	if spec.TLS.RequireSessionReuse != nil {
		ftp.TLS.RequireSessionReuse = new(*spec.TLS.RequireSessionReuse)
	}
	if ftpServesTLS(te) {
		ftp.TLS.CertFile = path.Join(TLSMountPath, tlsCertKey)
		ftp.TLS.KeyFile = path.Join(TLSMountPath, tlsKeyKey)
	}
	return ftp
}

// limitsConfig copies the limits. The endpoint is defaulted, so every limit the API defaults is set; a nil one
// would get the server's own default from ApplyDefaults.
func limitsConfig(spec v1alpha1.LimitsSpec) serverconfig.Limits {
	limits := serverconfig.Limits{
		MaxConnections:      int(spec.MaxConnections),
		MaxConnectionsPerIP: int(spec.MaxConnectionsPerIP),
		IdleTimeout:         duration(spec.IdleTimeout),
		BanDuration:         duration(spec.BanDuration),
	}
	if spec.MaxLoginFailures != nil {
		limits.MaxLoginFailures = new(int(*spec.MaxLoginFailures))
	}
	return limits
}

func duration(d *metav1.Duration) *serverconfig.Duration {
	if d == nil {
		return nil
	}
	return &serverconfig.Duration{Duration: d.Duration}
}

func cidrStrings(cidrs []v1alpha1.CIDR) []string {
	var out []string //nolint:prealloc // nil for no ranges: the config never holds empty lists
	for _, c := range cidrs {
		out = append(out, string(c))
	}
	return out
}

func listenAddress(port int) string {
	return ":" + strconv.Itoa(port)
}

// RestartHash fingerprints the part of the configuration pier-server cannot change while it runs: which protocols
// it serves, its listen addresses, and whether FTP has a certificate at all (the server loads its certificate
// reloader only at start). Deployment puts it on the pod template, so a change of any of these rolls the pods.
//
// Everything else (users, limits, source ranges, TLS mode and files, host key files, the passive address) is left
// out on purpose: the server re-reads the mounted config Secret and applies those changes to running pods without
// dropping a session, and adding or removing a user must never restart the pods serving everybody else.
func RestartHash(cfg *serverconfig.Config) string {
	var b strings.Builder
	if cfg.SFTP != nil {
		fmt.Fprintf(&b, "sftp %s\n", cfg.SFTP.Address)
	}
	if cfg.FTP != nil {
		fmt.Fprintf(&b, "ftp %s\n", cfg.FTP.Address)
		if cfg.FTP.ImplicitTLSAddress != "" {
			fmt.Fprintf(&b, "ftps %s\n", cfg.FTP.ImplicitTLSAddress)
		}
		fmt.Fprintf(&b, "ftp-certificate %t\n", cfg.FTP.TLS.CertFile != "")
	}
	fmt.Fprintf(&b, "health %s\n", cfg.Health.Address)
	sum := sha256.Sum256([]byte(b.String()))
	return hex.EncodeToString(sum[:])[:16]
}

// ConfigSecret holds the rendered configuration file (data is the output of config.Config.Marshal), under ConfigKey,
// or, gzipped (config.Gzip), under ConfigKey.gz, and the operator's record of password sources (see
// users.PasswordSources) under PasswordSourcesKey when there is one. The server pod mounts it at ConfigMountPath;
// pier-server reads only the configuration file.
func ConfigSecret(te *v1alpha1.TransferEndpoint, data []byte, gzipped bool, passwordSources []byte) *corev1.Secret {
	key := ConfigKey
	if gzipped {
		key += serverconfig.GzipSuffix
	}
	secret := &corev1.Secret{
		TypeMeta:   typeMeta("v1", "Secret"),
		ObjectMeta: objectMeta(te, NamesFor(te).ConfigSecret),
		Type:       corev1.SecretTypeOpaque,
		Data:       map[string][]byte{key: slices.Clone(data)},
	}
	if len(passwordSources) > 0 {
		secret.Data[PasswordSourcesKey] = slices.Clone(passwordSources)
	}
	return secret
}

// ConfigData is the configuration file in a config Secret, gzipped or not (config.Parse reads both).
func ConfigData(secret *corev1.Secret) []byte {
	if data, ok := secret.Data[ConfigKey]; ok {
		return data
	}
	return secret.Data[ConfigKey+serverconfig.GzipSuffix]
}

// HostKeysSecret is the host-key Secret the operator generates when the endpoint names none of its own. keys maps
// each file name (such as ssh_host_ed25519_key) to an OpenSSH private key. The reconciler creates it once and
// never replaces its keys unasked, so clients' known_hosts entries stay valid; spec.retentionPolicy.hostKeys
// decides whether it outlives the endpoint (see retainable).
func HostKeysSecret(te *v1alpha1.TransferEndpoint, keys map[string][]byte) *corev1.Secret {
	meta := objectMeta(te, generatedHostKeysSecretName(te))
	retainable(&meta, te, te.Spec.RetentionPolicy.HostKeys)
	return &corev1.Secret{
		TypeMeta:   typeMeta("v1", "Secret"),
		ObjectMeta: meta,
		Type:       corev1.SecretTypeOpaque,
		Data:       maps.Clone(keys),
	}
}
