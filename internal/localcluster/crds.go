package localcluster

import (
	"context"
	"fmt"
	"os"
	"slices"
	"time"

	apiextensionsv1 "k8s.io/apiextensions-apiserver/pkg/apis/apiextensions/v1"
	apiextensions "k8s.io/apiextensions-apiserver/pkg/client/clientset/clientset"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/types"
	"k8s.io/client-go/rest"
	"k8s.io/utils/ptr"
	"sigs.k8s.io/yaml"
)

// InstallCRDs installs the CRDs of the YAML files on the cluster cfg points
// at and returns once the API server serves every one of them, or fails
// when ctx ends first. Each is applied server-side as fieldManager (forcing
// conflicts), so installing again over a running cluster is harmless; but
// first decoded strictly, so a field the API does not know, a mistake the
// apply alone would let through, is an error naming the file.
func InstallCRDs(ctx context.Context, cfg *rest.Config, fieldManager string, files ...string) error {
	if len(files) == 0 {
		return fmt.Errorf("no CRD files given")
	}
	cs, err := apiextensions.NewForConfig(cfg)
	if err != nil {
		return err
	}
	crds := cs.ApiextensionsV1().CustomResourceDefinitions()
	names := make([]string, 0, len(files))
	for _, file := range files {
		data, err := os.ReadFile(file)
		if err != nil {
			return err
		}
		var crd apiextensionsv1.CustomResourceDefinition
		if err := yaml.UnmarshalStrict(data, &crd); err != nil {
			return fmt.Errorf("%s: %w", file, err)
		}
		// The file as written, not the decoded struct: its zero values
		// would become fields this manager owns.
		manifest, err := yaml.YAMLToJSON(data)
		if err != nil {
			return fmt.Errorf("%s: %w", file, err)
		}
		if _, err := crds.Patch(ctx, crd.Name, types.ApplyPatchType, manifest, metav1.PatchOptions{FieldManager: fieldManager, Force: ptr.To(true)}); err != nil {
			return fmt.Errorf("apply CRD %s: %w", crd.Name, err)
		}
		names = append(names, crd.Name)
	}
	// All applied first: the API server establishes them concurrently.
	for _, name := range names {
		if err := waitCRDServed(ctx, cs, name); err != nil {
			return err
		}
	}
	return nil
}

// WaitCRDServed returns once the API server serves the CRD name, or fails
// when ctx ends first.
func WaitCRDServed(ctx context.Context, cfg *rest.Config, name string) error {
	cs, err := apiextensions.NewForConfig(cfg)
	if err != nil {
		return err
	}
	return waitCRDServed(ctx, cs, name)
}

// waitCRDServed polls until the CRD is Established and its resource is in
// the discovery of each served version, as REST mappers (kubectl's,
// controller-runtime's, the snapshot controllers' informers) need. A CRD
// created a moment ago may still have status.conditions null.
func waitCRDServed(ctx context.Context, cs apiextensions.Interface, name string) error {
	tick := time.NewTicker(100 * time.Millisecond)
	defer tick.Stop()
	for {
		err := crdServed(ctx, cs, name)
		if err == nil {
			return nil
		}
		select {
		case <-ctx.Done():
			return fmt.Errorf("CRD %s not served: %w; last seen: %v", name, ctx.Err(), err)
		case <-tick.C:
		}
	}
}

func crdServed(ctx context.Context, cs apiextensions.Interface, name string) error {
	crd, err := cs.ApiextensionsV1().CustomResourceDefinitions().Get(ctx, name, metav1.GetOptions{})
	if err != nil {
		return err
	}
	if !slices.ContainsFunc(crd.Status.Conditions, func(c apiextensionsv1.CustomResourceDefinitionCondition) bool {
		return c.Type == apiextensionsv1.Established && c.Status == apiextensionsv1.ConditionTrue
	}) {
		return fmt.Errorf("conditions %+v", crd.Status.Conditions)
	}
	for _, v := range crd.Spec.Versions {
		if !v.Served {
			continue
		}
		gv := crd.Spec.Group + "/" + v.Name
		resources, err := cs.Discovery().ServerResourcesForGroupVersion(gv)
		if err != nil {
			return fmt.Errorf("discovery of %s: %w", gv, err)
		}
		if !slices.ContainsFunc(resources.APIResources, func(r metav1.APIResource) bool { return r.Name == crd.Spec.Names.Plural }) {
			return fmt.Errorf("%s not in the discovery of %s", crd.Spec.Names.Plural, gv)
		}
	}
	return nil
}
