package controller

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"errors"
	"fmt"
	"log/slog"
	"os"
	"slices"
	"sync/atomic"
	"time"

	"k8s.io/apimachinery/pkg/api/meta"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	kubeinformers "k8s.io/client-go/informers"
	"k8s.io/client-go/kubernetes"
	"k8s.io/client-go/tools/cache"
	"k8s.io/client-go/tools/leaderelection"
	"k8s.io/client-go/tools/leaderelection/resourcelock"

	"skiff.dev/skiff/pkg/ca"
)

// DefaultLeaseName is the Lease in the mesh namespace that controller replicas compete for.
const DefaultLeaseName = "skiff-controller-leader"

// LeaderElection configures how replicas pick the one that performs the cluster-wide writes: creating
// the self-signed root, keeping webhook caBundles current and publishing the root ConfigMaps. Every
// replica serves xDS, the CA and the webhooks. An empty LeaseName means this replica always leads
// (a single replica, or tests).
type LeaderElection struct {
	LeaseName string
	// Identity names this replica in the Lease; the Pod name in a cluster. Empty: hostname plus a random suffix.
	Identity string
	// The client-go timings: a leader that has not renewed for LeaseDuration is replaced; it gives up when
	// it cannot renew within RenewDeadline; candidates retry every RetryPeriod.
	LeaseDuration, RenewDeadline, RetryPeriod time.Duration
}

// DefaultLeaderElection uses client-go's (and Istio's) customary timings.
func DefaultLeaderElection() LeaderElection {
	return LeaderElection{LeaseName: DefaultLeaseName, LeaseDuration: 15 * time.Second, RenewDeadline: 10 * time.Second, RetryPeriod: 2 * time.Second}
}

// leadership tracks whether this replica currently holds the Lease.
type leadership struct {
	leading atomic.Bool
	// always is set when leader election is off.
	always bool
	stop   context.CancelFunc
	done   chan struct{}
}

// startLeadership campaigns for the Lease until stop is called, re-campaigning after a lost lease.
// onStartedLeading runs each time this replica becomes the leader.
func startLeadership(kube kubernetes.Interface, namespace string, cfg LeaderElection, log *slog.Logger, onStartedLeading func()) (*leadership, error) {
	l := &leadership{done: make(chan struct{})}
	if cfg.LeaseName == "" {
		l.always = true
		l.stop = func() {}
		close(l.done)
		return l, nil
	}
	if cfg.Identity == "" {
		cfg.Identity = defaultIdentity()
	}
	newElector := func() (*leaderelection.LeaderElector, error) {
		return leaderelection.NewLeaderElector(leaderelection.LeaderElectionConfig{
			Lock: &resourcelock.LeaseLock{
				LeaseMeta:  metav1.ObjectMeta{Name: cfg.LeaseName, Namespace: namespace},
				Client:     kube.CoordinationV1(),
				LockConfig: resourcelock.ResourceLockConfig{Identity: cfg.Identity},
			},
			LeaseDuration: cfg.LeaseDuration,
			RenewDeadline: cfg.RenewDeadline,
			RetryPeriod:   cfg.RetryPeriod,
			// A replica that shuts down hands over at once instead of after LeaseDuration.
			ReleaseOnCancel: true,
			Name:            cfg.LeaseName,
			Callbacks: leaderelection.LeaderCallbacks{
				// ctx ends when the lease is lost or released, so the flag follows exactly this term.
				OnStartedLeading: func(ctx context.Context) {
					if ctx.Err() != nil {
						return
					}
					l.leading.Store(true)
					log.Info("became the leader", "lease", namespace+"/"+cfg.LeaseName, "identity", cfg.Identity)
					onStartedLeading()
					<-ctx.Done()
					l.leading.Store(false)
					log.Info("stopped leading", "lease", namespace+"/"+cfg.LeaseName, "identity", cfg.Identity)
				},
				OnStoppedLeading: func() {},
			},
		})
	}
	if _, err := newElector(); err != nil { // validates the timings before anything starts
		return nil, fmt.Errorf("leader election: %w", err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	l.stop = func() {
		cancel()
		<-l.done
	}
	go func() {
		defer close(l.done)
		for ctx.Err() == nil {
			le, err := newElector()
			if err != nil {
				return
			}
			le.Run(ctx) // returns when the lease is lost or ctx ends
		}
	}()
	return l, nil
}

// isLeader reports whether this replica may perform the cluster-wide writes now.
func (l *leadership) isLeader() bool { return l.always || l.leading.Load() }

func defaultIdentity() string {
	host, _ := os.Hostname()
	b := make([]byte, 4)
	_, _ = rand.Read(b)
	return host + "_" + hex.EncodeToString(b)
}

// awaitAuthority loads the mesh CA. While no root is stored and another replica leads, it polls until the
// leader has stored one, so every replica signs with the same root.
func awaitAuthority(ctx context.Context, kube kubernetes.Interface, namespace, trustDomain string, l *leadership, log *slog.Logger) (*ca.Authority, string, error) {
	waiting := false
	for {
		a, source, err := loadOrCreateAuthority(ctx, kube, namespace, trustDomain, l.isLeader)
		if !errors.Is(err, errNoRootYet) {
			return a, source, err
		}
		if !waiting {
			log.Info("waiting for the leader to store the mesh root", "secret", namespace+"/"+selfSignedCASecret)
			waiting = true
		}
		select {
		case <-ctx.Done():
			return nil, "", ctx.Err()
		case <-time.After(250 * time.Millisecond):
		}
	}
}

// startedLeading begins a term: another replica may have led in between and the cluster may have drifted,
// so the push loop redoes the duties from scratch.
func (c *Controller) startedLeading() {
	c.newTerm.Store(true)
	c.changed()
}

// leaderDuties are the cluster-wide writes only the leader performs; the push loop calls it after each push.
func (c *Controller) leaderDuties(ctx context.Context) error {
	if !c.leader.isLeader() {
		return nil
	}
	if c.newTerm.Swap(false) {
		c.publisher.published = map[string]bool{}
	}
	return errors.Join(c.publisher.publish(ctx), c.patcher.patch(ctx))
}

// watchWebhookConfigurations reruns the push loop, and so the leader's duties, whenever one of the
// controller's webhook configurations changes: a caBundle someone overwrote (a re-applied manifest) is
// repaired at once, as istiod does. The returned func stops the watch.
func (c *Controller) watchWebhookConfigurations(ctx context.Context) func() {
	names := map[string]bool{}
	for _, n := range append(slices.Clone(c.opts.MutatingWebhookConfigurations), c.opts.ValidatingWebhookConfigurations...) {
		names[n] = true
	}
	if len(names) == 0 {
		return func() {}
	}
	onNamed := func(obj any) {
		if m, err := meta.Accessor(obj); err == nil && names[m.GetName()] {
			c.changed()
		}
	}
	handler := cache.ResourceEventHandlerFuncs{AddFunc: onNamed, UpdateFunc: func(_, obj any) { onNamed(obj) }}
	factory := kubeinformers.NewSharedInformerFactory(c.kube, 0)
	admission := factory.Admissionregistration().V1()
	for _, inf := range []cache.SharedIndexInformer{admission.MutatingWebhookConfigurations().Informer(), admission.ValidatingWebhookConfigurations().Informer()} {
		if _, err := inf.AddEventHandler(handler); err != nil {
			c.log.Warn("watching webhook configurations", "error", err)
		}
	}
	factory.Start(ctx.Done())
	return factory.Shutdown
}
