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

package podrunner

import (
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"os"
	"os/exec"
	"path/filepath"
	"runtime"
	"syscall"
	"time"
	"unsafe"
)

// initMarker is the first argument of the current binary re-executed as a container's init.
const initMarker = "podrunner-init"

// statusFD is the init's end of a pipe to the runner: the init writes why it failed, or exec closes it.
const statusFD = 3

// Linux constants the syscall package does not have.
const (
	capSysChroot            = 18
	capSysAdmin             = 21
	linuxCapabilityVersion3 = 0x20080522
	prSetPdeathsig          = 1
	prSetNoNewPrivs         = 38
	stRelatime              = 0x1000
)

// Init turns the process into a container's init when the runner re-executed it as one, and returns at once
// otherwise. Programs that use a Runner call it first thing in main (or TestMain), before anything else runs:
// the init must set up the container and exec its program without doing what the program would normally do.
func Init() {
	if len(os.Args) != 3 || os.Args[1] != initMarker {
		return
	}
	// Capabilities, no_new_privs and the parent-death signal belong to a thread, and exec keeps only the thread
	// that calls it: everything from here on happens on this one.
	runtime.LockOSThread()
	err := containerInit(os.Args[2])
	// containerInit only returns on failure.
	_, _ = fmt.Fprintf(os.NewFile(statusFD, "status"), "%v", err)
	_, _ = fmt.Fprintf(os.Stderr, "podrunner-init: %v\n", err)
	os.Exit(128)
}

// containerInit sets the container up as spec says and execs its program. It runs in a new mount and UTS
// namespace (and user namespace, as an ordinary user), so its mounts disappear with the process.
func containerInit(specFile string) error {
	data, err := os.ReadFile(specFile)
	if err != nil {
		return err
	}
	var spec initSpec
	if err := json.Unmarshal(data, &spec); err != nil {
		return fmt.Errorf("reading %s: %w", specFile, err)
	}
	if err := mountRoot(&spec); err != nil {
		return err
	}
	if err := syscall.Sethostname([]byte(spec.Hostname)); err != nil {
		return fmt.Errorf("setting the host name: %w", err)
	}
	if err := syscall.Chroot(spec.Rootfs); err != nil {
		return fmt.Errorf("chroot: %w", err)
	}
	if err := syscall.Chdir("/"); err != nil {
		return err
	}
	if err := becomeUser(&spec); err != nil {
		return err
	}
	if err := syscall.Chdir(spec.Dir); err != nil {
		return fmt.Errorf("working directory %s: %w", spec.Dir, err)
	}
	syscall.CloseOnExec(statusFD)
	return fmt.Errorf("exec %s: %w", spec.Argv[0], syscall.Exec(spec.Argv[0], spec.Argv, spec.Env))
}

// mountRoot mounts the container's root folder, its binary, /dev/null and its volumes.
func mountRoot(spec *initSpec) error {
	// The new namespace starts with copies of the host's mounts, shared with the host's: make them private
	// before mounting anything, or the mounts would appear on the host.
	if err := syscall.Mount("", "/", "", syscall.MS_REC|syscall.MS_PRIVATE, ""); err != nil {
		return fmt.Errorf("making mounts private: %w", err)
	}
	// The root becomes a mount point of its own, so that it can be made read-only without its volumes.
	if err := bind(spec.Rootfs, spec.Rootfs, false); err != nil {
		return err
	}
	for _, m := range spec.Mounts {
		if err := bind(m.Source, filepath.Join(spec.Rootfs, m.Target), m.ReadOnly); err != nil {
			return err
		}
	}
	if spec.ReadOnlyRoot {
		return remountReadOnly(spec.Rootfs)
	}
	return nil
}

// becomeUser takes the container's groups and user, and drops what the program must not keep.
func becomeUser(spec *initSpec) error {
	// Groups first: dropping the uid drops the right to change groups.
	if spec.Groups != nil {
		if err := syscall.Setgroups(spec.Groups); err != nil {
			return fmt.Errorf("setting groups %v: %w", spec.Groups, err)
		}
	}
	if err := syscall.Setgid(spec.GID); err != nil {
		return fmt.Errorf("setting gid %d: %w", spec.GID, err)
	}
	if err := syscall.Setuid(spec.UID); err != nil {
		return fmt.Errorf("setting uid %d: %w", spec.UID, err)
	}
	if spec.NoNewPrivs {
		if err := prctl(prSetNoNewPrivs, 1); err != nil {
			return fmt.Errorf("setting no_new_privs: %w", err)
		}
	}
	// In a user namespace the init got ambient capabilities to mount and chroot; the program gets none.
	if err := dropInheritable(); err != nil {
		return fmt.Errorf("dropping inheritable capabilities: %w", err)
	}
	// Changing the uid cleared the parent-death signal; the program must still die with the runner.
	if err := prctl(prSetPdeathsig, uintptr(syscall.SIGKILL)); err != nil {
		return fmt.Errorf("setting the parent-death signal: %w", err)
	}
	return nil
}

// bind mounts source at target, read-only if asked.
func bind(source, target string, readOnly bool) error {
	if err := syscall.Mount(source, target, "", syscall.MS_BIND|syscall.MS_REC, ""); err != nil {
		return fmt.Errorf("mounting %s at %s: %w", source, target, err)
	}
	if readOnly {
		return remountReadOnly(target)
	}
	return nil
}

// remountReadOnly makes a bind mount read-only, which only a remount does. In a user namespace, the flags the
// mount already has (nosuid, nodev, noexec, atime) are locked and must be repeated, or the kernel refuses.
func remountReadOnly(target string) error {
	var st syscall.Statfs_t
	if err := syscall.Statfs(target, &st); err != nil {
		return fmt.Errorf("statfs %s: %w", target, err)
	}
	// These statfs flags have the values of the mount flags of the same name.
	kept := uintptr(st.Flags) & (syscall.MS_NOSUID | syscall.MS_NODEV | syscall.MS_NOEXEC |
		syscall.MS_NOATIME | syscall.MS_NODIRATIME)
	if st.Flags&stRelatime != 0 {
		kept |= syscall.MS_RELATIME
	}
	flags := syscall.MS_REMOUNT | syscall.MS_BIND | syscall.MS_RDONLY | kept
	if err := syscall.Mount("", target, "", flags, ""); err != nil {
		return fmt.Errorf("making %s read-only: %w", target, err)
	}
	return nil
}

// dropInheritable empties this thread's inheritable capabilities, which also empties its ambient ones (they must
// be inheritable), so that exec leaves the program none.
func dropInheritable() error {
	header := struct {
		version uint32
		pid     int32
	}{version: linuxCapabilityVersion3}
	var data [2]struct{ effective, permitted, inheritable uint32 }
	if _, _, errno := syscall.RawSyscall(syscall.SYS_CAPGET, uintptr(unsafe.Pointer(&header)), uintptr(unsafe.Pointer(&data[0])), 0); errno != 0 {
		return errno
	}
	data[0].inheritable, data[1].inheritable = 0, 0
	if _, _, errno := syscall.RawSyscall(syscall.SYS_CAPSET, uintptr(unsafe.Pointer(&header)), uintptr(unsafe.Pointer(&data[0])), 0); errno != 0 {
		return errno
	}
	return nil
}

func prctl(option, arg uintptr) error {
	if _, _, errno := syscall.RawSyscall6(syscall.SYS_PRCTL, option, arg, 0, 0, 0, 0); errno != 0 {
		return errno
	}
	return nil
}

// startInit writes spec to specFile and starts the current binary as the container's init with it (see Init).
// It returns once the init has exec'ed the container's program, or with the init's error if it could not.
func startInit(spec *initSpec, specFile string, out io.Writer) (*exec.Cmd, error) {
	attr := &syscall.SysProcAttr{
		Cloneflags: syscall.CLONE_NEWNS | syscall.CLONE_NEWUTS,
		// A terminal's Ctrl-C reaches the runner only, which then stops the pods in order.
		Setpgid: true,
		// A runner that dies (a test that panics) does not leave servers holding ports behind.
		Pdeathsig: syscall.SIGKILL,
	}
	if os.Geteuid() != 0 {
		// An ordinary user may map one uid and one gid, its own, into a new user namespace: there they are
		// runAsUser and runAsGroup. The init starts as that user, with just the capabilities to mount and chroot.
		// setgroups is denied in such a namespace, and the supplementary groups map to nobody anyway.
		attr.Cloneflags |= syscall.CLONE_NEWUSER
		attr.UidMappings = []syscall.SysProcIDMap{{ContainerID: spec.UID, HostID: os.Getuid(), Size: 1}}
		attr.GidMappings = []syscall.SysProcIDMap{{ContainerID: spec.GID, HostID: os.Getgid(), Size: 1}}
		attr.AmbientCaps = []uintptr{capSysAdmin, capSysChroot}
		spec.Groups = nil
	}
	data, err := json.Marshal(spec)
	if err != nil {
		return nil, fmt.Errorf("encoding the init's spec: %w", err)
	}
	if err := os.WriteFile(specFile, data, 0o600); err != nil {
		return nil, fmt.Errorf("writing the init's spec: %w", err)
	}
	status, statusW, err := os.Pipe()
	if err != nil {
		return nil, err
	}
	defer func() { _ = status.Close() }()
	cmd := exec.Command("/proc/self/exe", initMarker, specFile)
	cmd.Env = []string{} // the init takes nothing from the runner; the program's environment is in spec
	cmd.Stdout, cmd.Stderr = out, out
	cmd.ExtraFiles = []*os.File{statusW} // becomes statusFD
	cmd.WaitDelay = time.Second
	cmd.SysProcAttr = attr
	err = cmd.Start()
	_ = statusW.Close()
	if err != nil {
		return nil, fmt.Errorf("starting the init: %w", err)
	}
	msg, _ := io.ReadAll(status)
	if len(msg) > 0 {
		_ = cmd.Wait()
		return nil, errors.New(string(msg))
	}
	return cmd, nil
}
