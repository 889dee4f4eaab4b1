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
	"fmt"
	"io"
	"strings"
	"time"

	transferv1alpha1 "github.com/pier-dev/pier/api/v1alpha1"
)

// connectInfo is what the demo prints once its endpoint is Ready.
type connectInfo struct {
	envFile string
	env     envVars
	kubectl kubectl
	limits  transferv1alpha1.LimitsSpec // the endpoint's, as the API server defaulted them
}

func printHowToConnect(w io.Writer, c connectInfo) {
	env := c.env.get
	_, _ = fmt.Fprintf(w, `
pier demo is running: endpoint %[1]s/%[2]s serves SFTP on 127.0.0.1:%[3]s, FTP with explicit FTPS on :%[4]s and
implicit FTPS on :%[5]s (passive ports %[6]s). Certificates come from a local CA (%[7]s), standing in for cert-manager.

  . %[8]s        # exports the variables below into your shell

SFTP with the key, then with the password:
  sftp -i "$SSH_KEY_FILE" -o UserKnownHostsFile="$KNOWN_HOSTS_FILE" -P "$SFTP_PORT" "$USERNAME@127.0.0.1"
  sshpass -p "$PASSWORD" sftp -o PubkeyAuthentication=no -o UserKnownHostsFile="$KNOWN_HOSTS_FILE" -P "$SFTP_PORT" "$USERNAME@127.0.0.1"
FTPS (explicit, then implicit), verified against the CA:
  curl --ssl-reqd --cacert "$CA_FILE" --user "$USERNAME:$PASSWORD" "ftp://localhost:$FTP_PORT/"
  curl --cacert "$CA_FILE" --user "$USERNAME:$PASSWORD" "ftps://localhost:$FTPS_PORT/"
  lftp -u "$USERNAME,$PASSWORD" -e "set ssl:ca-file $CA_FILE; set ftp:ssl-force true; ls; bye" "localhost:$FTP_PORT"

$KUBECTL is %[9]s; KUBECONFIG points it at the demo's control plane:
  "$KUBECTL" get transferendpoints,transferusers
Add a user: once it is Ready it can log in within seconds, with no restart, and deleting it locks it out.
%[10]s
  "$KUBECTL" apply -f my-user.yaml
  "$KUBECTL" wait --for=condition=Ready tu/my-user

The other samples (archive, legacy-ftp) are applied too, with everything they need; their pods are not run here,
because every pier pod listens on the same ports of this machine, so they stay PodsNotAvailable.

Ctrl-C stops everything and removes %[8]s.
`, env("NAMESPACE"), env("ENDPOINT"), env("SFTP_PORT"), env("FTP_PORT"), env("FTPS_PORT"), env("PASSIVE_PORTS"),
		env("CA_FILE"), c.envFile, c.kubectl.origin, banNote(c.limits))
}

// banNote warns about the failed-login ban where it bites a newcomer: logging in (or polling in a loop) as a user
// that is not Ready yet fails, and enough failures ban the address, here 127.0.0.1, for every user.
func banNote(limits transferv1alpha1.LimitsSpec) string {
	if limits.MaxLoginFailures == nil || *limits.MaxLoginFailures == 0 || limits.BanDuration == nil {
		return "Wait until it is Ready before its first login: until then its logins fail."
	}
	ban := shortDuration(limits.BanDuration.Duration)
	return fmt.Sprintf("Wait until it is Ready before its first login: until then its logins fail, and %d failed logins from\n"+
		"one address within %s ban that address for %s (the endpoint's limits.maxLoginFailures and banDuration).\n"+
		"Here that address is 127.0.0.1, so a ban locks out every user: it is disconnected at once until the ban ends.\n"+
		"So wait for Ready rather than retry in a loop:", *limits.MaxLoginFailures, ban, ban)
}

// shortDuration writes d as it is usually written in a manifest: 15m, 1h30m, 45s.
func shortDuration(d time.Duration) string {
	s := d.String()
	if strings.HasSuffix(s, "m0s") {
		s = strings.TrimSuffix(s, "0s")
	}
	if strings.HasSuffix(s, "h0m") {
		s = strings.TrimSuffix(s, "0m")
	}
	return s
}
