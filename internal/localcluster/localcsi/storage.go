package localcsi

import (
	"context"
	"errors"
	"fmt"
	"io"
	"net"
	"os"
	"sync"
	"time"

	"github.com/container-storage-interface/spec/lib/go/csi"
	snapshots "github.com/kubernetes-csi/external-snapshotter/client/v8/clientset/versioned"
	"google.golang.org/grpc"
	"google.golang.org/grpc/credentials/insecure"
	"k8s.io/client-go/informers"
	"k8s.io/client-go/kubernetes"
	"k8s.io/client-go/rest"
	"k8s.io/client-go/util/workqueue"
	"k8s.io/klog/v2"
	"k8s.io/klog/v2/textlogger"
	"sigs.k8s.io/sig-storage-lib-external-provisioner/v13/controller"
)

// Config is what Start needs.
type Config struct {
	// Root holds the volumes' and snapshots' directories.
	Root string
	// Socket is the unix socket the driver serves CSI on, for the
	// csi-snapshotter sidecar as for the provisioner and resizer here.
	Socket string
	// RestConfig reaches the cluster.
	RestConfig *rest.Config
	// Quiescer freezes a volume's writers during a snapshot; nil for none.
	Quiescer Quiescer
	// Log receives the driver's, the provisioner's and the resizer's logs.
	Log io.Writer
}

// Storage is the running driver with its provisioner and resizer.
type Storage struct {
	driver *Driver
	server *grpc.Server
	conn   *grpc.ClientConn
	cancel context.CancelFunc
	done   sync.WaitGroup
}

// resyncPeriod is long: every change arrives by watch, and nothing else
// changes volumes.
const resyncPeriod = 10 * time.Minute

// Start serves the driver on cfg.Socket and starts the provisioner and the
// resizer. Their watches see nothing until a PVC of the driver's class
// exists, so a cluster whose workloads use no PVC pays for nothing but the
// idle watches.
func Start(cfg Config) (_ *Storage, err error) {
	driver, err := NewDriver(cfg.Root, cfg.Quiescer)
	if err != nil {
		return nil, err
	}
	// A unix socket path is limited to 107 bytes.
	if len(cfg.Socket) > 107 {
		return nil, fmt.Errorf("CSI socket path %s is longer than a unix socket allows (107 bytes); use a shorter state directory", cfg.Socket)
	}
	if err := os.Remove(cfg.Socket); err != nil && !errors.Is(err, os.ErrNotExist) {
		return nil, err
	}
	ln, err := net.Listen("unix", cfg.Socket)
	if err != nil {
		return nil, err
	}
	logger := textlogger.NewLogger(textlogger.NewConfig(textlogger.Output(cfg.Log)))
	s := &Storage{driver: driver, server: grpc.NewServer(grpc.UnaryInterceptor(logCalls(logger.WithName("driver"))))}
	csi.RegisterIdentityServer(s.server, driver)
	csi.RegisterControllerServer(s.server, driver)
	csi.RegisterGroupControllerServer(s.server, driver)
	s.done.Go(func() { _ = s.server.Serve(ln) })
	defer func() {
		if err != nil {
			s.Stop()
		}
	}()

	if s.conn, err = grpc.NewClient("unix://"+cfg.Socket, grpc.WithTransportCredentials(insecure.NewCredentials())); err != nil {
		return nil, err
	}
	client, err := kubernetes.NewForConfig(cfg.RestConfig)
	if err != nil {
		return nil, err
	}
	snapClient, err := snapshots.NewForConfig(cfg.RestConfig)
	if err != nil {
		return nil, err
	}
	controllerClient := csi.NewControllerClient(s.conn)
	ctx, cancel := context.WithCancel(klog.NewContext(context.Background(), logger))
	s.cancel = cancel

	provisioning := controller.NewProvisionController(klog.NewContext(ctx, logger.WithName("provisioner")), client, DriverName,
		&provisioner{csi: controllerClient, client: client, snapshots: snapClient},
		controller.LeaderElection(false),
		controller.ResyncPeriod(resyncPeriod),
		// A PVC restored from a snapshot that is not ready yet is retried
		// within a second, not after the library's 15 s.
		controller.RateLimiter(workqueue.NewTypedItemExponentialFailureRateLimiter[string](100*time.Millisecond, 10*time.Second)),
		controller.FailedProvisionThreshold(0),
		controller.FailedDeleteThreshold(0),
	)
	factory := informers.NewSharedInformerFactory(client, resyncPeriod)
	resizing, err := newResizer(factory, client, controllerClient, logger.WithName("resizer"))
	if err != nil {
		return nil, err
	}
	factory.Start(ctx.Done())
	s.done.Go(func() { provisioning.Run(ctx) })
	s.done.Go(func() { resizing.run(ctx) })
	s.done.Go(func() { <-ctx.Done(); factory.Shutdown() })
	return s, nil
}

// VolumeDir is the directory of the volume with this CSI volume handle.
func (s *Storage) VolumeDir(volumeHandle string) string { return s.driver.VolumeDir(volumeHandle) }

// Stop stops the controllers, then the driver.
func (s *Storage) Stop() {
	if s.cancel != nil {
		s.cancel()
	}
	if s.conn != nil {
		_ = s.conn.Close()
	}
	s.server.Stop()
	s.done.Wait()
}

// logCalls logs every CSI call the driver serves, with its error.
func logCalls(log klog.Logger) grpc.UnaryServerInterceptor {
	return func(ctx context.Context, req any, info *grpc.UnaryServerInfo, handler grpc.UnaryHandler) (any, error) {
		resp, err := handler(ctx, req)
		if err != nil {
			log.Error(err, "CSI call failed", "method", info.FullMethod, "request", req)
		} else {
			log.V(2).Info("CSI call served", "method", info.FullMethod, "request", req)
		}
		return resp, err
	}
}
