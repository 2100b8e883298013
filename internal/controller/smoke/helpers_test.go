package smoke

import (
	"context"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"sync"
	"testing"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	appsv1 "k8s.io/api/apps/v1"
	corev1 "k8s.io/api/core/v1"
	apiextensionsv1 "k8s.io/apiextensions-apiserver/pkg/apis/apiextensions/v1"
	apiextensions "k8s.io/apiextensions-apiserver/pkg/client/clientset/clientset"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/util/intstr"
	"k8s.io/apimachinery/pkg/util/wait"
	"k8s.io/client-go/util/retry"
	"k8s.io/utils/ptr"
	ctrl "sigs.k8s.io/controller-runtime"
	"sigs.k8s.io/controller-runtime/pkg/client"
	"sigs.k8s.io/controller-runtime/pkg/config"
	"sigs.k8s.io/controller-runtime/pkg/log/zap"
	metricsserver "sigs.k8s.io/controller-runtime/pkg/metrics/server"
	"sigs.k8s.io/yaml"

	"github.com/sroll-dev/sroll/api/v1alpha1"
	"github.com/sroll-dev/sroll/internal/controller"
	"github.com/sroll-dev/sroll/internal/controller/controllertest"
	"github.com/sroll-dev/sroll/internal/localcluster/clustertest"
)

// timeout bounds every wait; a rollout of 10 pods takes about 5 seconds.
const timeout = 2 * time.Minute

func newRollout(ns, name string, replicas int32, image string) *v1alpha1.StatefulSetRollout {
	labels := map[string]string{"app": name}
	return &v1alpha1.StatefulSetRollout{
		ObjectMeta: metav1.ObjectMeta{Namespace: ns, Name: name},
		Spec: v1alpha1.StatefulSetRolloutSpec{
			StatefulSetSpec: appsv1.StatefulSetSpec{
				Replicas:    ptr.To(replicas),
				ServiceName: name,
				Selector:    &metav1.LabelSelector{MatchLabels: labels},
				Template: corev1.PodTemplateSpec{
					ObjectMeta: metav1.ObjectMeta{Labels: labels},
					Spec:       corev1.PodSpec{Containers: []corev1.Container{{Name: "kv", Image: image}}},
				},
			},
			Rollout: v1alpha1.RolloutStrategy{MaxUnavailable: ptr.To(intstr.FromString("30%"))},
		},
	}
}

// startOperator installs the CRDs and runs the controller in-process for
// namespace ns until the test ends. It returns an uncached client for the
// test's own reads and writes, the reconciler, and the record of the
// reconciler's writes.
func startOperator(t *testing.T, ns string) (client.Client, *controller.Reconciler, *controllertest.Writes) {
	t.Helper()
	installCRDs(t)
	logs := io.Discard
	if testing.Verbose() {
		logs = os.Stderr
	}
	ctrl.SetLogger(zap.New(zap.UseDevMode(true), zap.WriteTo(logs)))
	cfg := clustertest.RestConfig()
	mgr, err := ctrl.NewManager(cfg, ctrl.Options{
		Scheme:                 controller.NewScheme(),
		Cache:                  controller.CacheOptions([]string{ns}),
		Metrics:                metricsserver.Options{BindAddress: "0"},
		HealthProbeBindAddress: "0",
		// One manager per test, each with the same controller name.
		Controller: config.Controller{SkipNameValidation: ptr.To(true)},
	})
	if err != nil {
		t.Fatal(err)
	}
	reconciler := controller.New(mgr, controller.NewMetrics(prometheus.NewRegistry()))
	writes := controllertest.RecordWrites(reconciler.Client)
	reconciler.Client = writes
	if err := reconciler.SetupWithManager(mgr); err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() { done <- mgr.Start(ctx) }()
	t.Cleanup(func() {
		cancel()
		if err := <-done; err != nil {
			t.Errorf("manager: %v", err)
		}
	})
	c, err := client.New(cfg, client.Options{Scheme: controller.NewScheme()})
	if err != nil {
		t.Fatal(err)
	}
	return c, reconciler, writes
}

// waitFor re-reads obj until done says yes.
func waitFor(t *testing.T, c client.Client, obj client.Object, what string, done func() bool) {
	t.Helper()
	err := wait.PollUntilContextTimeout(t.Context(), 250*time.Millisecond, timeout, true, func(ctx context.Context) (bool, error) {
		if err := c.Get(ctx, client.ObjectKeyFromObject(obj), obj); err != nil {
			return false, err
		}
		return done(), nil
	})
	if err != nil {
		t.Fatalf("waiting for %s of %s: %v", what, obj.GetName(), err)
	}
}

// waitCompleted waits until the rollout of its current spec is Completed
// with every pod Ready on the StatefulSet's update revision, which it returns.
func waitCompleted(t *testing.T, c client.Client, rollout *v1alpha1.StatefulSetRollout) string {
	t.Helper()
	waitFor(t, c, rollout, "completion", func() bool {
		return rollout.Status.ObservedGeneration == rollout.Generation && rollout.Status.Phase == v1alpha1.PhaseCompleted
	})
	return waitOnRevision(t, c, rollout)
}

// waitOnRevision waits until every pod of the rollout is Ready on the
// StatefulSet's update revision, and returns that revision.
func waitOnRevision(t *testing.T, c client.Client, rollout *v1alpha1.StatefulSetRollout) string {
	t.Helper()
	var sts appsv1.StatefulSet
	var last string
	err := wait.PollUntilContextTimeout(t.Context(), 250*time.Millisecond, timeout, true, func(ctx context.Context) (bool, error) {
		var pods corev1.PodList
		if err := c.Get(ctx, client.ObjectKeyFromObject(rollout), &sts); err != nil {
			return false, err
		}
		if err := c.List(ctx, &pods, client.InNamespace(rollout.Namespace), client.MatchingLabels(rollout.Spec.Selector.MatchLabels)); err != nil {
			return false, err
		}
		onRevision := 0
		for _, pod := range pods.Items {
			if pod.DeletionTimestamp == nil && podReady(&pod) && pod.Labels[appsv1.ControllerRevisionHashLabelKey] == sts.Status.UpdateRevision {
				onRevision++
			}
		}
		last = fmt.Sprintf("%d of %d pods Ready on %s", onRevision, len(pods.Items), sts.Status.UpdateRevision)
		return len(pods.Items) == int(*rollout.Spec.Replicas) && onRevision == len(pods.Items), nil
	})
	if err != nil {
		t.Fatalf("waiting for the pods of %s: %v; last seen %s", rollout.Name, err, last)
	}
	return sts.Status.UpdateRevision
}

func podReady(pod *corev1.Pod) bool {
	for _, c := range pod.Status.Conditions {
		if c.Type == corev1.PodReady {
			return c.Status == corev1.ConditionTrue
		}
	}
	return false
}

// update applies change to the latest version of rollout.
func update(t *testing.T, c client.Client, rollout *v1alpha1.StatefulSetRollout, change func()) {
	t.Helper()
	if err := retry.RetryOnConflict(retry.DefaultRetry, func() error {
		if err := c.Get(t.Context(), client.ObjectKeyFromObject(rollout), rollout); err != nil {
			return err
		}
		change()
		return c.Update(t.Context(), rollout)
	}); err != nil {
		t.Fatal(err)
	}
}

func setImage(t *testing.T, c client.Client, rollout *v1alpha1.StatefulSetRollout, image string) {
	t.Helper()
	update(t, c, rollout, func() { rollout.Spec.Template.Spec.Containers[0].Image = image })
}

func annotate(t *testing.T, c client.Client, rollout *v1alpha1.StatefulSetRollout, key, value string) {
	t.Helper()
	update(t, c, rollout, func() { metav1.SetMetaDataAnnotation(&rollout.ObjectMeta, key, value) })
}

var crds struct {
	once sync.Once
	err  error
}

// installCRDs installs config/crd/bases into the cluster once per test
// binary and waits until the API serves them.
func installCRDs(t *testing.T) {
	t.Helper()
	crds.once.Do(func() { crds.err = applyCRDs(context.Background()) })
	if crds.err != nil {
		t.Fatal(crds.err)
	}
}

func applyCRDs(ctx context.Context) error {
	cs, err := apiextensions.NewForConfig(clustertest.RestConfig())
	if err != nil {
		return err
	}
	files, err := filepath.Glob("../../../config/crd/bases/*.yaml")
	if err != nil || len(files) == 0 {
		return fmt.Errorf("no CRDs in config/crd/bases (%v)", err)
	}
	api := cs.ApiextensionsV1().CustomResourceDefinitions()
	for _, file := range files {
		data, err := os.ReadFile(file)
		if err != nil {
			return err
		}
		var crd apiextensionsv1.CustomResourceDefinition
		if err := yaml.UnmarshalStrict(data, &crd); err != nil {
			return fmt.Errorf("%s: %w", file, err)
		}
		if _, err := api.Create(ctx, &crd, metav1.CreateOptions{}); err != nil && !apierrors.IsAlreadyExists(err) {
			return fmt.Errorf("create CRD %s: %w", crd.Name, err)
		}
		if err := wait.PollUntilContextTimeout(ctx, 100*time.Millisecond, 30*time.Second, true, func(ctx context.Context) (bool, error) {
			got, err := api.Get(ctx, crd.Name, metav1.GetOptions{})
			if err != nil {
				return false, err
			}
			for _, cond := range got.Status.Conditions {
				if cond.Type == apiextensionsv1.Established && cond.Status == apiextensionsv1.ConditionTrue {
					return true, nil
				}
			}
			return false, nil
		}); err != nil {
			return fmt.Errorf("CRD %s not established: %w", crd.Name, err)
		}
	}
	return nil
}
