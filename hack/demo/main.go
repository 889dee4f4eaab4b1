/*
Copyright 2026 The pier authors.

Licensed under the Apache License, Version 2.0 (the "License");
you may not use this file except in compliance with the License.
You may obtain a copy of the License at

    http://www.apache.org/licenses/LICENSE-2.0

Unless required by applicable law or agreed to in writing, software
distributed under the License is distributed on an "AS IS" BASIS,
WITHOUT WARRANTIES OR CONDITIONS OF ANY KIND, either express or implied.
See the License for the specific language governing permissions and
limitations under the License.
*/

// Command demo is `make demo`: a working pier endpoint on this machine with no cluster and no Docker. It starts a
// local control plane and the operator, applies config/samples, runs the "partners" endpoint's pod here as its
// Deployment says, prints how to connect, and stops everything on Ctrl-C.
package main

import (
	"context"
	"crypto/ed25519"
	"crypto/rand"
	"encoding/pem"
	"errors"
	"flag"
	"fmt"
	"io"
	"log/slog"
	"os"
	"os/signal"
	"path/filepath"
	"strings"
	"syscall"
	"time"

	"golang.org/x/crypto/ssh"
	corev1 "k8s.io/api/core/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/labels"
	logf "sigs.k8s.io/controller-runtime/pkg/log"
	"sigs.k8s.io/controller-runtime/pkg/log/zap"

	transferv1alpha1 "github.com/pier-dev/pier/api/v1alpha1"
	"github.com/pier-dev/pier/internal/localcluster"
	"github.com/pier-dev/pier/internal/podrunner"
)

const (
	namespace = "default"
	endpoint  = "partners"
	user      = "alice"
	readyWait = 3 * time.Minute
)

func main() {
	podrunner.Init()
	// controller-runtime's envtest logs through logr; without a logger it prints a warning with a stack trace.
	logf.SetLogger(zap.New(zap.WriteTo(io.Discard)))
	stateDir := flag.String("state-dir", ".demo", "Folder for the demo's state: kubeconfig, keys, CA, logs, files.")
	binDir := flag.String("bin-dir", "bin", "Folder holding the manager and pier-server binaries (make build).")
	samples := flag.String("samples", "config/samples", "Folder of manifests to apply.")
	flag.Parse()

	log := slog.New(slog.NewTextHandler(os.Stderr, &slog.HandlerOptions{Level: slog.LevelInfo}))
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	defer stop()
	if err := run(ctx, log, *stateDir, *binDir, *samples); err != nil {
		log.Error("demo failed", "error", err)
		os.Exit(1)
	}
}

func run(ctx context.Context, log *slog.Logger, stateDir, binDir, samples string) error {
	stateDir, err := filepath.Abs(stateDir)
	if err != nil {
		return err
	}
	// Keep the CA and the SSH key (clients may trust them already); start everything else afresh.
	for _, stale := range []string{"node", "kubeconfig", "endpoint.env", "manager.log", "known_hosts"} {
		_ = os.RemoveAll(filepath.Join(stateDir, stale))
	}
	abs := func(name string) string { p, _ := filepath.Abs(filepath.Join(binDir, name)); return p }
	cluster, err := localcluster.Start(ctx, localcluster.Options{
		StateDir:      stateDir,
		ManagerBinary: abs("manager"),
		ServerBinary:  abs("pier-server"),
		RunPods:       labels.SelectorFromSet(labels.Set{"transfer.pier.dev/endpoint": endpoint}),
		Log:           log,
	})
	if err != nil {
		return err
	}
	defer func() {
		log.Info("stopping the pod, the operator and the control plane")
		if err := cluster.Stop(); err != nil {
			log.Error("stopping", "error", err)
		}
	}()

	keyFile, publicKey, err := sshKey(stateDir)
	if err != nil {
		return err
	}
	if err := applySamples(ctx, cluster, samples, publicKey); err != nil {
		return err
	}

	log.Info("waiting for the endpoint and its user to be Ready", "endpoint", endpoint, "user", user)
	te := &transferv1alpha1.TransferEndpoint{ObjectMeta: metav1.ObjectMeta{Namespace: namespace, Name: endpoint}}
	if err := localcluster.WaitReady(ctx, cluster.Client, te, readyWait); err != nil {
		return fmt.Errorf("%w; the operator's log is %s", err, filepath.Join(stateDir, "manager.log"))
	}
	tu := &transferv1alpha1.TransferUser{ObjectMeta: metav1.ObjectMeta{Namespace: namespace, Name: user}}
	if err := localcluster.WaitReady(ctx, cluster.Client, tu, readyWait); err != nil {
		return err
	}
	password, err := localcluster.GeneratedPassword(ctx, cluster.Client, tu)
	if err != nil {
		return err
	}
	info, err := localcluster.EndpointInfo(ctx, cluster.Client, namespace, endpoint)
	if err != nil {
		return err
	}
	knownHosts := filepath.Join(stateDir, "known_hosts")
	if err := os.WriteFile(knownHosts, info.KnownHosts, 0o600); err != nil {
		return err
	}
	env := map[string]string{
		"KUBECONFIG": cluster.KubeconfigFile, "SFTP_PORT": fmt.Sprint(info.SFTPPort), "FTP_PORT": fmt.Sprint(info.FTPPort),
		"FTPS_PORT": fmt.Sprint(info.FTPSPort), "PASSIVE_PORTS": fmt.Sprintf("%d-%d", info.PassiveStart, info.PassiveEnd),
		"USERNAME": tu.Spec.Username, "PASSWORD": password, "SSH_KEY_FILE": keyFile, "KNOWN_HOSTS_FILE": knownHosts,
		"CA_FILE": cluster.CA.CertFile, "NAMESPACE": namespace, "ENDPOINT": endpoint,
		"KUBECTL": kubectl(),
	}
	envFile := filepath.Join(stateDir, "endpoint.env")
	if err := writeEnvFile(envFile, env); err != nil {
		return err
	}
	printHowToConnect(envFile, env)

	<-ctx.Done()
	return nil
}

// sshKey returns the demo user's SSH key, created on the first run.
func sshKey(stateDir string) (keyFile, publicKey string, err error) {
	keyFile = filepath.Join(stateDir, "id_ed25519")
	data, err := os.ReadFile(keyFile)
	if errors.Is(err, os.ErrNotExist) {
		_, priv, genErr := ed25519.GenerateKey(rand.Reader)
		if genErr != nil {
			return "", "", genErr
		}
		block, marshalErr := ssh.MarshalPrivateKey(priv, "pier demo")
		if marshalErr != nil {
			return "", "", marshalErr
		}
		data = pem.EncodeToMemory(block)
		err = os.WriteFile(keyFile, data, 0o600)
	}
	if err != nil {
		return "", "", err
	}
	signer, err := ssh.ParsePrivateKey(data)
	if err != nil {
		return "", "", fmt.Errorf("%s: %w (delete it to get a new one)", keyFile, err)
	}
	return keyFile, strings.TrimSpace(string(ssh.MarshalAuthorizedKey(signer.PublicKey()))) + " alice@pier-demo", nil
}

// applySamples creates the Secret the sample user's keys come from, then every sample.
func applySamples(ctx context.Context, cluster *localcluster.Cluster, dir, publicKey string) error {
	keys := &corev1.Secret{
		ObjectMeta: metav1.ObjectMeta{Namespace: namespace, Name: "alice-authorized-keys"},
		Data:       map[string][]byte{transferv1alpha1.DefaultAuthorizedKeysKey: []byte(publicKey + "\n")},
	}
	if err := cluster.Client.Create(ctx, keys); err != nil && !apierrors.IsAlreadyExists(err) {
		return err
	}
	files, err := filepath.Glob(filepath.Join(dir, "*.yaml"))
	if err != nil {
		return err
	}
	for _, f := range files {
		if filepath.Base(f) == "kustomization.yaml" {
			continue
		}
		if err := localcluster.ApplyFile(ctx, cluster.Client, namespace, f); err != nil {
			return err
		}
	}
	return nil
}

func writeEnvFile(file string, env map[string]string) error {
	var b strings.Builder
	for _, k := range []string{"KUBECONFIG", "SFTP_PORT", "FTP_PORT", "FTPS_PORT", "PASSIVE_PORTS", "USERNAME",
		"PASSWORD", "SSH_KEY_FILE", "KNOWN_HOSTS_FILE", "CA_FILE", "NAMESPACE", "ENDPOINT", "KUBECTL"} {
		fmt.Fprintf(&b, "%s=%s\n", k, shellQuote(env[k]))
	}
	return os.WriteFile(file, []byte(b.String()), 0o600)
}

func shellQuote(s string) string {
	return "'" + strings.ReplaceAll(s, "'", `'\''`) + "'"
}

func printHowToConnect(envFile string, env map[string]string) {
	fmt.Printf(`
pier demo is running: endpoint %[1]s/%[2]s serves SFTP on 127.0.0.1:%[3]s, FTP with explicit FTPS on :%[4]s and
implicit FTPS on :%[5]s (passive ports %[6]s). Certificates come from a local CA (%[7]s), standing in for cert-manager.

  . %[8]s        # sets the variables below in your shell

SFTP with the key, then with the password:
  sftp -i "$SSH_KEY_FILE" -o UserKnownHostsFile="$KNOWN_HOSTS_FILE" -P "$SFTP_PORT" "$USERNAME@127.0.0.1"
  sshpass -p "$PASSWORD" sftp -o PubkeyAuthentication=no -o UserKnownHostsFile="$KNOWN_HOSTS_FILE" -P "$SFTP_PORT" "$USERNAME@127.0.0.1"
FTPS (explicit, then implicit), verified against the CA:
  curl --ssl-reqd --cacert "$CA_FILE" --user "$USERNAME:$PASSWORD" "ftp://localhost:$FTP_PORT/"
  curl --cacert "$CA_FILE" --user "$USERNAME:$PASSWORD" "ftps://localhost:$FTPS_PORT/"
  lftp -u "$USERNAME,$PASSWORD" -e "set ssl:ca-file $CA_FILE; set ftp:ssl-force true; ls; bye" "localhost:$FTP_PORT"
Add a user with kubectl (KUBECONFIG is set by the env file; $KUBECTL is one built for the demo); it can log in
within seconds, with no restart, and deleting it locks it out:
  "$KUBECTL" --kubeconfig "$KUBECONFIG" get transferendpoints,transferusers -n "$NAMESPACE"
  "$KUBECTL" --kubeconfig "$KUBECONFIG" apply -n "$NAMESPACE" -f my-user.yaml

The other samples (archive, legacy-ftp) are applied too: "$KUBECTL" get transferendpoints shows which Secrets they
wait for. Their pods are not run here, because every pier pod listens on the same ports of this machine.

Ctrl-C stops everything.
`, env["NAMESPACE"], env["ENDPOINT"], env["SFTP_PORT"], env["FTP_PORT"], env["FTPS_PORT"], env["PASSIVE_PORTS"],
		env["CA_FILE"], envFile)
}

// kubectl is the kubectl of the envtest binaries (make demo builds it), else the one on PATH.
func kubectl() string {
	if dir := os.Getenv("KUBEBUILDER_ASSETS"); dir != "" {
		if _, err := os.Stat(filepath.Join(dir, "kubectl")); err == nil {
			return filepath.Join(dir, "kubectl")
		}
	}
	return "kubectl"
}
