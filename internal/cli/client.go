package cli

import (
	"context"
	"errors"
	"fmt"
	"sort"
	"strings"

	apierrors "k8s.io/apimachinery/pkg/api/errors"
	"k8s.io/apimachinery/pkg/api/meta"
	"k8s.io/apimachinery/pkg/runtime"
	"k8s.io/apimachinery/pkg/types"
	utilruntime "k8s.io/apimachinery/pkg/util/runtime"
	"k8s.io/cli-runtime/pkg/genericclioptions"
	"k8s.io/cli-runtime/pkg/genericiooptions"
	"k8s.io/client-go/discovery"
	clientgoscheme "k8s.io/client-go/kubernetes/scheme"
	"k8s.io/client-go/rest"
	"sigs.k8s.io/controller-runtime/pkg/client"

	"github.com/sroll-dev/sroll/api/v1alpha1"
)

// env is what every verb starts from: the connection flags and the streams.
// Nothing connects until a verb calls connect, so a wrong command line fails
// without a cluster.
type env struct {
	flags   *genericclioptions.ConfigFlags
	streams genericiooptions.IOStreams
}

// session is a connection to the cluster in the namespace the flags and the
// kubeconfig chose.
type session struct {
	client.Client
	// config is what the client was made of; status -w watches with it.
	config    *rest.Config
	namespace string
}

var scheme = func() *runtime.Scheme {
	s := runtime.NewScheme()
	utilruntime.Must(clientgoscheme.AddToScheme(s))
	utilruntime.Must(v1alpha1.AddToScheme(s))
	return s
}()

// connectTo connects and reads the rollout called name, which every
// command about one rollout starts with.
func (e *env) connectTo(ctx context.Context, name string) (*session, *v1alpha1.StatefulSetRollout, error) {
	s, err := e.connect()
	if err != nil {
		return nil, nil, err
	}
	r, err := s.rollout(ctx, name)
	if err != nil {
		return nil, nil, err
	}
	return s, r, nil
}

func (e *env) connect() (*session, error) {
	cfg, err := e.flags.ToRESTConfig()
	if err != nil {
		return nil, err
	}
	cfg = withRate(cfg)
	namespace, _, err := e.flags.ToRawKubeConfigLoader().Namespace()
	if err != nil {
		return nil, err
	}
	c, err := client.New(cfg, client.Options{Scheme: scheme})
	if err != nil {
		return nil, err
	}
	return &session{Client: c, config: cfg, namespace: namespace}, nil
}

// withRate lifts client-go's default of 5 requests a second, which would
// throttle status -w (five lists a second) and the dashboard's informers.
func withRate(cfg *rest.Config) *rest.Config {
	cfg.QPS, cfg.Burst = 50, 100
	return cfg
}

// errNotInstalled is what a cluster without the sroll CRD gets.
var errNotInstalled = errors.New("sroll is not installed in this cluster: run make deploy")

// explain turns the API's answer about the sroll types into words: a
// cluster that does not know the kind has no sroll installed.
func explain(err error) error {
	if meta.IsNoMatchError(err) || discovery.IsGroupDiscoveryFailedError(err) {
		return errNotInstalled
	}
	return err
}

// rollout reads one rollout; when it is missing, the error says in which
// other namespaces a rollout of that name exists.
func (s *session) rollout(ctx context.Context, name string) (*v1alpha1.StatefulSetRollout, error) {
	var r v1alpha1.StatefulSetRollout
	err := s.Get(ctx, types.NamespacedName{Namespace: s.namespace, Name: name}, &r)
	if apierrors.IsNotFound(err) {
		return nil, s.notFound(ctx, name)
	}
	if err != nil {
		return nil, explain(err)
	}
	return &r, nil
}

func (s *session) notFound(ctx context.Context, name string) error {
	err := fmt.Errorf("statefulsetrollout %q not found in namespace %q", name, s.namespace)
	var all v1alpha1.StatefulSetRolloutList
	// Best effort: a user who may not list across namespaces still gets the
	// plain answer.
	if s.List(ctx, &all, client.MatchingFields{"metadata.name": name}) != nil || len(all.Items) == 0 {
		return err
	}
	var namespaces []string
	for _, r := range all.Items {
		namespaces = append(namespaces, fmt.Sprintf("%q", r.Namespace))
	}
	sort.Strings(namespaces)
	where := "namespace " + namespaces[0]
	if len(namespaces) > 1 {
		where = "namespaces " + strings.Join(namespaces, ", ")
	}
	return fmt.Errorf("%w; it exists in %s (use -n)", err, where)
}

// patch applies a JSON merge patch to the rollout.
func (s *session) patch(ctx context.Context, r *v1alpha1.StatefulSetRollout, mergePatch []byte) error {
	return explain(s.Patch(ctx, r, client.RawPatch(types.MergePatchType, mergePatch)))
}

// ref is how kubectl names an object in its messages.
func ref(r *v1alpha1.StatefulSetRollout) string {
	return "statefulsetrollout.sroll.dev/" + r.Name
}
