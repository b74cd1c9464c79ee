// Package conformance runs containerd's own snapshotter conformance suite
// (snapshots/testsuite) against the nix-snapshotter daemon binary, through containerd's
// gRPC proxy client, and against containerd's in-process overlay snapshotter as the
// baseline of what passes on this machine.
//
// Built in GOPATH mode by tests/conformance/run.sh; run with -test.root and
// -nixsnap.bin=/path/to/nix-snapshotter.
package conformance

import (
	"context"
	"flag"
	"fmt"
	"net"
	"os"
	"os/exec"
	"path/filepath"
	"syscall"
	"testing"
	"time"

	snapshotsapi "github.com/containerd/containerd/api/services/snapshots/v1"
	"github.com/containerd/containerd/pkg/testutil"
	"github.com/containerd/containerd/snapshots"
	"github.com/containerd/containerd/snapshots/overlay"
	"github.com/containerd/containerd/snapshots/proxy"
	"github.com/containerd/containerd/snapshots/testsuite"
	"google.golang.org/grpc"
)

var (
	daemonBin   = flag.String("nixsnap.bin", "", "path of the nix-snapshotter binary under test")
	startupWait = flag.Duration("nixsnap.startup", 15*time.Second, "how long a daemon may take to serve")
	stopWait    = flag.Duration("nixsnap.stop", 15*time.Second, "how long a daemon may take to stop on SIGTERM")
)

// daemon is one nix-snapshotter process with its own root and socket.
type daemon struct {
	cmd  *exec.Cmd
	log  string
	done chan error
}

func (d *daemon) logTail() string {
	b, err := os.ReadFile(d.log)
	if err != nil {
		return "(no log: " + err.Error() + ")"
	}
	if len(b) > 4000 {
		b = b[len(b)-4000:]
	}
	return string(b)
}

// stop sends SIGTERM to this daemon's PID only, waits, and kills it if it hangs.
func (d *daemon) stop() error {
	if err := d.cmd.Process.Signal(syscall.SIGTERM); err != nil {
		return fmt.Errorf("signalling daemon pid %d: %w", d.cmd.Process.Pid, err)
	}
	select {
	case err := <-d.done:
		if err != nil {
			return fmt.Errorf("daemon pid %d exited with %v; log:\n%s", d.cmd.Process.Pid, err, d.logTail())
		}
		return nil
	case <-time.After(*stopWait):
		_ = d.cmd.Process.Kill()
		<-d.done
		return fmt.Errorf("daemon pid %d ignored SIGTERM for %v", d.cmd.Process.Pid, *stopWait)
	}
}

// startDaemon starts nix-snapshotter with root `root` and a socket next to it, and waits
// until the socket accepts connections.
func startDaemon(root string) (*daemon, string, error) {
	if *daemonBin == "" {
		return nil, "", fmt.Errorf("-nixsnap.bin not given")
	}
	dir := filepath.Dir(root)
	sock := filepath.Join(dir, "ns.sock")
	cfg := filepath.Join(dir, "config.toml")
	// The image service is not under test here.
	if err := os.WriteFile(cfg, []byte("[image_service]\nenable = false\n"), 0o644); err != nil {
		return nil, "", err
	}
	logPath := filepath.Join(dir, "daemon.log")
	logFile, err := os.Create(logPath)
	if err != nil {
		return nil, "", err
	}
	defer logFile.Close()
	cmd := exec.Command(*daemonBin, "--config", cfg, "--address", sock, "--root", root, "--log-level", "debug")
	cmd.Stdout = logFile
	cmd.Stderr = logFile
	if err := cmd.Start(); err != nil {
		return nil, "", err
	}
	d := &daemon{cmd: cmd, log: logPath, done: make(chan error, 1)}
	go func() { d.done <- cmd.Wait() }()

	deadline := time.Now().Add(*startupWait)
	for {
		select {
		case err := <-d.done:
			d.done <- err
			return nil, "", fmt.Errorf("daemon exited during startup (%v); log:\n%s", err, d.logTail())
		default:
		}
		if c, err := net.Dial("unix", sock); err == nil {
			c.Close()
			return d, sock, nil
		}
		if time.Now().After(deadline) {
			_ = d.stop()
			return nil, "", fmt.Errorf("daemon did not serve %s within %v; log:\n%s", sock, *startupWait, d.logTail())
		}
		time.Sleep(20 * time.Millisecond)
	}
}

// newNixSnapshotter is a testsuite.SnapshotterFunc: a fresh daemon per test case, reached
// through containerd's proxy snapshotter exactly as containerd's proxy_plugins do.
func newNixSnapshotter(ctx context.Context, root string) (snapshots.Snapshotter, func() error, error) {
	d, sock, err := startDaemon(root)
	if err != nil {
		return nil, nil, err
	}
	dialer := func(ctx context.Context, addr string) (net.Conn, error) {
		var dl net.Dialer
		return dl.DialContext(ctx, "unix", addr)
	}
	conn, err := grpc.Dial(sock, grpc.WithInsecure(), grpc.WithContextDialer(dialer))
	if err != nil {
		_ = d.stop()
		return nil, nil, err
	}
	sn := proxy.NewSnapshotter(snapshotsapi.NewSnapshotsClient(conn), "nix")
	cleanup := func() error {
		cerr := conn.Close()
		if err := d.stop(); err != nil {
			return err
		}
		return cerr
	}
	return sn, cleanup, nil
}

func newOverlaySnapshotter(ctx context.Context, root string) (snapshots.Snapshotter, func() error, error) {
	sn, err := overlay.NewSnapshotter(root)
	if err != nil {
		return nil, nil, err
	}
	return sn, sn.Close, nil
}

// TestOverlay is the baseline: containerd's own overlay snapshotter, in process.
func TestOverlay(t *testing.T) {
	testutil.RequiresRoot(t)
	testsuite.SnapshotterSuite(t, "overlayfs", newOverlaySnapshotter)
}

// TestNix is the suite against the nix-snapshotter daemon.
func TestNix(t *testing.T) {
	testutil.RequiresRoot(t)
	testsuite.SnapshotterSuite(t, "nix", newNixSnapshotter)
}
