// cri-ready exits 0 only when a CRI runtime answers the calls kubelet makes first.
//
// containerd's process answers `ctr version` before its CRI plugin has initialised; kubelet
// started in that window exits with "server is not initialized yet". This probe asks what
// kubelet asks (runtime Version, runtime Status with RuntimeReady, image filesystem info), so
// the harness starts kubelet and imports images only once the CRI service really serves.
package main

import (
	"context"
	"fmt"
	"os"
	"time"

	"google.golang.org/grpc"
	"google.golang.org/grpc/credentials/insecure"
	runtimeapi "k8s.io/cri-api/pkg/apis/runtime/v1"
)

func main() {
	if len(os.Args) != 2 {
		fmt.Fprintln(os.Stderr, "usage: cri-ready unix:///path/to/containerd.sock")
		os.Exit(2)
	}
	if err := probe(os.Args[1]); err != nil {
		fmt.Fprintln(os.Stderr, "not ready:", err)
		os.Exit(1)
	}
	fmt.Println("ready")
}

func probe(endpoint string) error {
	ctx, cancel := context.WithTimeout(context.Background(), 3*time.Second)
	defer cancel()
	conn, err := grpc.NewClient(endpoint, grpc.WithTransportCredentials(insecure.NewCredentials()))
	if err != nil {
		return fmt.Errorf("dial %s: %w", endpoint, err)
	}
	defer conn.Close()
	runtime := runtimeapi.NewRuntimeServiceClient(conn)
	if _, err := runtime.Version(ctx, &runtimeapi.VersionRequest{}); err != nil {
		return fmt.Errorf("runtime version: %w", err)
	}
	status, err := runtime.Status(ctx, &runtimeapi.StatusRequest{})
	if err != nil {
		return fmt.Errorf("runtime status: %w", err)
	}
	for _, condition := range status.GetStatus().GetConditions() {
		if condition.GetType() == runtimeapi.RuntimeReady && !condition.GetStatus() {
			return fmt.Errorf("RuntimeReady is false: %s %s", condition.GetReason(), condition.GetMessage())
		}
	}
	images := runtimeapi.NewImageServiceClient(conn)
	if _, err := images.ImageFsInfo(ctx, &runtimeapi.ImageFsInfoRequest{}); err != nil {
		return fmt.Errorf("image filesystem info: %w", err)
	}
	return nil
}
