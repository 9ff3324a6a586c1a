// Command cert-manager-controller runs cert-manager's certificate controllers for the
// SelfSigned and CA issuers in one namespace.
//
// The Go module proxy serves cert-manager's main module but not its cmd/controller module, so
// this program wires the main module's exported controller packages together the way the
// upstream controller does: one ContextFactory, every registered controller constructed, the
// shared informers started, then the control loops run while this replica holds the lease.
// Only what the platform uses is linked in: Certificates, CertificateRequests (approver,
// SelfSigned, CA) and namespaced Issuers; no ACME, Vault, Venafi, ClusterIssuers or webhook.
package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"net/http"
	"os"
	"os/signal"
	"syscall"
	"time"

	"k8s.io/client-go/tools/leaderelection"
	"k8s.io/client-go/tools/leaderelection/resourcelock"
	"k8s.io/klog/v2"

	"github.com/cert-manager/cert-manager/pkg/controller"
	logf "github.com/cert-manager/cert-manager/pkg/logs"

	// Each blank import registers its controller with controller.Known().
	_ "github.com/cert-manager/cert-manager/pkg/controller/certificaterequests/approver"
	_ "github.com/cert-manager/cert-manager/pkg/controller/certificaterequests/ca"
	_ "github.com/cert-manager/cert-manager/pkg/controller/certificaterequests/selfsigned"
	_ "github.com/cert-manager/cert-manager/pkg/controller/certificates/issuing"
	_ "github.com/cert-manager/cert-manager/pkg/controller/certificates/keymanager"
	_ "github.com/cert-manager/cert-manager/pkg/controller/certificates/readiness"
	_ "github.com/cert-manager/cert-manager/pkg/controller/certificates/requestmanager"
	_ "github.com/cert-manager/cert-manager/pkg/controller/certificates/revisionmanager"
	_ "github.com/cert-manager/cert-manager/pkg/controller/certificates/trigger"
	_ "github.com/cert-manager/cert-manager/pkg/controller/issuers"
	// Each blank import registers an issuer type the Issuers controller can set up.
	_ "github.com/cert-manager/cert-manager/pkg/issuer/ca"
	_ "github.com/cert-manager/cert-manager/pkg/issuer/selfsigned"
)

type options struct {
	namespace       string
	leaseNamespace  string
	leaseName       string
	healthAddress   string
	workers         int
	leaseDuration   time.Duration
	renewDeadline   time.Duration
	retryPeriod     time.Duration
	minRetryBackoff time.Duration
	maxRetryBackoff time.Duration
}

func parseFlags() (options, error) {
	var o options
	flag.StringVar(&o.namespace, "namespace", "", "the one namespace whose Issuers and Certificates are served (required)")
	flag.StringVar(&o.leaseNamespace, "leader-election-namespace", "", "namespace of the leader election Lease (required)")
	flag.StringVar(&o.leaseName, "leader-election-name", "", "name of the leader election Lease (required; RBAC grants exactly it)")
	flag.StringVar(&o.healthAddress, "health-address", ":9403", "address of the /livez endpoint")
	flag.IntVar(&o.workers, "workers", 5, "concurrent workers per controller")
	flag.DurationVar(&o.leaseDuration, "leader-election-lease-duration", 60*time.Second, "lease duration")
	flag.DurationVar(&o.renewDeadline, "leader-election-renew-deadline", 40*time.Second, "renew deadline")
	flag.DurationVar(&o.retryPeriod, "leader-election-retry-period", 15*time.Second, "retry period")
	flag.DurationVar(&o.minRetryBackoff, "certificate-request-minimum-backoff-duration", time.Hour, "first delay before a failed issuance is retried")
	flag.DurationVar(&o.maxRetryBackoff, "certificate-request-maximum-backoff-duration", 32*time.Hour, "longest delay before a failed issuance is retried")
	klog.InitFlags(nil)
	flag.Parse()
	if o.namespace == "" || o.leaseNamespace == "" || o.leaseName == "" {
		return o, errors.New("--namespace, --leader-election-namespace and --leader-election-name are required: name the namespace to serve and the Lease (namespace and name) the replicas elect a leader with")
	}
	if o.workers < 1 {
		return o, fmt.Errorf("--workers must be at least 1, got %d", o.workers)
	}
	return o, nil
}

func contextOptions(o options) controller.ContextOptions {
	return controller.ContextOptions{
		KubernetesAPIQPS:   20,
		KubernetesAPIBurst: 50,
		Namespace:          o.namespace,
		IssuerOptions:      controller.IssuerOptions{ClusterResourceNamespace: o.namespace},
		CertificateOptions: controller.CertificateOptions{
			CertificateRequestMinimumBackoffDuration: o.minRetryBackoff,
			CertificateRequestMaximumBackoffDuration: o.maxRetryBackoff,
		},
	}
}

// runControllers constructs every registered controller, starts the informers they registered
// and runs them until ctx ends or one of them fails.
func runControllers(ctx context.Context, factory *controller.ContextFactory, workers int) error {
	log := logf.FromContext(ctx)
	loops := map[string]controller.Interface{}
	for name, construct := range controller.Known() {
		loop, err := construct(factory)
		if err != nil {
			return fmt.Errorf("constructing controller %s: %w", name, err)
		}
		loops[name] = loop
	}
	shared, err := factory.Build()
	if err != nil {
		return fmt.Errorf("building the informers' context: %w", err)
	}
	shared.KubeSharedInformerFactory.Start(ctx.Done())
	shared.SharedInformerFactory.Start(ctx.Done())
	shared.HTTP01ResourceMetadataInformersFactory.Start(ctx.Done())
	shared.GWShared.Start(ctx.Done())

	failed := make(chan error, len(loops))
	for name, loop := range loops {
		log.Info("starting controller", "controller", name)
		go func() {
			if err := loop.Run(workers, ctx); err != nil {
				failed <- fmt.Errorf("controller %s: %w", name, err)
				return
			}
			failed <- nil
		}()
	}
	for range loops {
		if err := <-failed; err != nil {
			return err
		}
	}
	return nil
}

func serveHealth(address string) {
	mux := http.NewServeMux()
	mux.HandleFunc("/livez", func(w http.ResponseWriter, _ *http.Request) {
		w.WriteHeader(http.StatusOK)
		_, _ = w.Write([]byte("ok"))
	})
	server := &http.Server{Addr: address, Handler: mux, ReadHeaderTimeout: 5 * time.Second}
	go func() {
		if err := server.ListenAndServe(); err != nil && !errors.Is(err, http.ErrServerClosed) {
			klog.Fatalf("health endpoint on %s: %v", address, err)
		}
	}()
}

func run() error {
	o, err := parseFlags()
	if err != nil {
		return err
	}
	ctx, stop := signal.NotifyContext(context.Background(), syscall.SIGINT, syscall.SIGTERM)
	defer stop()
	ctx = logf.NewContext(ctx, klog.Background(), "cert-manager", "controller")
	serveHealth(o.healthAddress)

	factory, err := controller.NewContextFactory(ctx, contextOptions(o))
	if err != nil {
		return fmt.Errorf("connecting to the API server: %w", err)
	}
	election, err := factory.Build("leader-election")
	if err != nil {
		return err
	}
	identity, err := os.Hostname()
	if err != nil {
		return fmt.Errorf("reading the host name for the lease identity: %w", err)
	}
	lock, err := resourcelock.New(
		resourcelock.LeasesResourceLock, o.leaseNamespace, o.leaseName,
		election.Client.CoreV1(), election.Client.CoordinationV1(),
		resourcelock.ResourceLockConfig{Identity: identity, EventRecorder: election.Recorder},
	)
	if err != nil {
		return fmt.Errorf("creating the leader election lock: %w", err)
	}
	result := make(chan error, 1)
	leaderelection.RunOrDie(ctx, leaderelection.LeaderElectionConfig{
		Lock:            lock,
		LeaseDuration:   o.leaseDuration,
		RenewDeadline:   o.renewDeadline,
		RetryPeriod:     o.retryPeriod,
		ReleaseOnCancel: true,
		Callbacks: leaderelection.LeaderCallbacks{
			OnStartedLeading: func(leading context.Context) { result <- runControllers(leading, factory, o.workers) },
			OnStoppedLeading: func() {},
		},
	})
	select {
	case err := <-result:
		return err
	default:
		if ctx.Err() != nil {
			return nil // told to stop before leading
		}
		return errors.New("lost the leader election lease")
	}
}

func main() {
	if err := run(); err != nil {
		klog.ErrorS(err, "cert-manager controller stopped")
		klog.Flush()
		os.Exit(1)
	}
	klog.Flush()
}
