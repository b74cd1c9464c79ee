// Command standin serves containerd's overlay snapshotter over the snapshots gRPC API on
// a unix socket, through containerd's contrib/snapshotservice adapter. It is the
// architecture of the original Go nix-snapshotter (minus its Nix additions), kept here
// only as a baseline for bench/snapshots_bench: same API, same socket transport.
//
// Build (GOPATH mode against Debian's containerd sources):
//
//	GO111MODULE=off GOFLAGS= GOPATH=<tmp>:/usr/share/gocode go build -o standin .
package main

import (
	"flag"
	"log"
	"net"
	"os"
	"os/signal"
	"syscall"

	snapshotsapi "github.com/containerd/containerd/api/services/snapshots/v1"
	"github.com/containerd/containerd/contrib/snapshotservice"
	"github.com/containerd/containerd/snapshots/overlay"
	"google.golang.org/grpc"
)

func main() {
	address := flag.String("address", "", "unix socket to listen on")
	root := flag.String("root", "", "state directory of the overlay snapshotter")
	flag.Parse()
	if *address == "" || *root == "" {
		log.Fatal("standin: --address and --root are required")
	}

	sn, err := overlay.NewSnapshotter(*root)
	if err != nil {
		log.Fatalf("standin: creating overlay snapshotter in %q: %v", *root, err)
	}
	defer sn.Close()

	_ = os.Remove(*address)
	listener, err := net.Listen("unix", *address)
	if err != nil {
		log.Fatalf("standin: listening on %q: %v", *address, err)
	}

	server := grpc.NewServer()
	snapshotsapi.RegisterSnapshotsServer(server, snapshotservice.FromSnapshotter(sn))

	signals := make(chan os.Signal, 1)
	signal.Notify(signals, syscall.SIGINT, syscall.SIGTERM)
	go func() {
		<-signals
		server.GracefulStop()
	}()

	log.Printf("standin: serving overlay snapshotter from %q on %q", *root, *address)
	if err := server.Serve(listener); err != nil {
		log.Fatalf("standin: serving: %v", err)
	}
}
