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

// Command echoserver is the image of podrunner's tests. It serves, on the address of its --listen flag, what it
// sees from inside its container: its users, environment and files, whether its root is writable, and who the
// API server says its service account token is. With --drain it goes on serving for a while after SIGTERM, as a
// server draining its connections does, holding its port.
package main

import (
	"context"
	"encoding/json"
	"errors"
	"flag"
	"fmt"
	"net/http"
	"os"
	"os/signal"
	"strconv"
	"syscall"
	"time"

	authenticationv1 "k8s.io/api/authentication/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/client-go/kubernetes"
	"k8s.io/client-go/rest"
)

// Info is what /info returns.
type Info struct {
	UID, GID int
	Groups   []int
	Env      []string
	Hostname string
	// RootWriteError is why creating a file in / failed, or "" when it worked.
	RootWriteError string
}

func main() {
	listen := flag.String("listen", "127.0.0.1:8080", "address to serve on")
	drain := flag.Duration("drain", 0, "how long to go on serving after SIGTERM before exiting (/exit ends it sooner)")
	flag.Parse()

	mux := http.NewServeMux()
	mux.HandleFunc("/readyz", func(w http.ResponseWriter, _ *http.Request) { fmt.Fprintln(w, "ok") })
	mux.HandleFunc("/info", func(w http.ResponseWriter, _ *http.Request) {
		groups, _ := os.Getgroups()
		host, _ := os.Hostname()
		info := Info{UID: os.Getuid(), GID: os.Getgid(), Groups: groups, Env: os.Environ(), Hostname: host}
		if err := os.WriteFile("/written-by-echoserver", []byte("x"), 0o600); err != nil {
			info.RootWriteError = err.Error()
		} else {
			_ = os.Remove("/written-by-echoserver")
		}
		_ = json.NewEncoder(w).Encode(info)
	})
	// /file?path=P returns P's content, read anew on every request.
	mux.HandleFunc("/file", func(w http.ResponseWriter, r *http.Request) {
		data, err := os.ReadFile(r.URL.Query().Get("path"))
		if err != nil {
			http.Error(w, err.Error(), http.StatusNotFound)
			return
		}
		_, _ = w.Write(data)
	})
	// /write?path=P&data=D writes D to P.
	mux.HandleFunc("/write", func(w http.ResponseWriter, r *http.Request) {
		if err := os.WriteFile(r.URL.Query().Get("path"), []byte(r.URL.Query().Get("data")), 0o644); err != nil {
			http.Error(w, err.Error(), http.StatusInternalServerError)
		}
	})
	// /whoami asks the API server, as rest.InClusterConfig finds it, who the mounted token is.
	mux.HandleFunc("/whoami", func(w http.ResponseWriter, r *http.Request) {
		name, err := whoami(r.Context())
		if err != nil {
			http.Error(w, err.Error(), http.StatusInternalServerError)
			return
		}
		fmt.Fprint(w, name)
	})
	// /exit?code=N exits with N, for the restart tests.
	mux.HandleFunc("/exit", func(_ http.ResponseWriter, r *http.Request) {
		code, _ := strconv.Atoi(r.URL.Query().Get("code"))
		fmt.Println("echoserver: exiting with", code)
		os.Exit(code)
	})

	srv := &http.Server{Addr: *listen, Handler: mux, ReadHeaderTimeout: 10 * time.Second}
	ctx, stop := signal.NotifyContext(context.Background(), syscall.SIGTERM)
	defer stop()
	go func() {
		<-ctx.Done()
		fmt.Println("echoserver: got SIGTERM")
		if *drain > 0 {
			fmt.Println("echoserver: draining for", *drain)
			time.Sleep(*drain)
		}
		_ = srv.Close()
	}()
	fmt.Println("echoserver: listening on", *listen)
	if err := srv.ListenAndServe(); !errors.Is(err, http.ErrServerClosed) {
		fmt.Fprintln(os.Stderr, "echoserver:", err)
		os.Exit(1)
	}
}

func whoami(ctx context.Context) (string, error) {
	cfg, err := rest.InClusterConfig()
	if err != nil {
		return "", err
	}
	client, err := kubernetes.NewForConfig(cfg)
	if err != nil {
		return "", err
	}
	review, err := client.AuthenticationV1().SelfSubjectReviews().Create(ctx, &authenticationv1.SelfSubjectReview{}, metav1.CreateOptions{})
	if err != nil {
		return "", err
	}
	return review.Status.UserInfo.Username, nil
}
