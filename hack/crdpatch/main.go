// Command crdpatch bounds the fields of the generated StatefulSetRollout CRD
// that its CEL rules read: the label maps (the selector against the
// template labels) and the volume claim templates (which may change only in
// their storage requests). They come from upstream types (LabelSelector,
// ObjectMeta, PersistentVolumeClaim) that carry no size markers, so the API
// server estimates those rules as unbounded and refuses the CRD. The bounds
// are Kubernetes' own limits (names of 253 characters) or far above any real
// use (16 claims); writing them into the schema lets the rules be costed.
package main

import (
	"fmt"
	"os"

	apiextensionsv1 "k8s.io/apiextensions-apiserver/pkg/apis/apiextensions/v1"
	"sigs.k8s.io/yaml"
)

const (
	maxLabels           = 64
	maxLabelValueLength = 63
	maxClaims           = 16
	maxNameLength       = 253
	maxAccessModes      = 4
	maxShortString      = 64 // an access mode, a volume mode, a quantity
	maxResources        = 8
)

func main() {
	for _, path := range os.Args[1:] {
		if err := patch(path); err != nil {
			fmt.Fprintf(os.Stderr, "crdpatch %s: %v\n", path, err)
			os.Exit(1)
		}
	}
}

func patch(path string) error {
	data, err := os.ReadFile(path)
	if err != nil {
		return err
	}
	var crd apiextensionsv1.CustomResourceDefinition
	if err := yaml.Unmarshal(data, &crd); err != nil {
		return err
	}
	for _, version := range crd.Spec.Versions {
		spec := version.Schema.OpenAPIV3Schema.Properties["spec"]
		selector := spec.Properties["selector"]
		bound(&selector, "matchLabels")
		spec.Properties["selector"] = selector
		template := spec.Properties["template"]
		metadata := template.Properties["metadata"]
		bound(&metadata, "labels")
		template.Properties["metadata"] = metadata
		spec.Properties["template"] = template
		boundClaims(&spec)
		version.Schema.OpenAPIV3Schema.Properties["spec"] = spec
	}
	// The status of a CRD is the API server's to write; leave it out.
	asMap := map[string]any{}
	if err := convert(&crd, &asMap); err != nil {
		return err
	}
	delete(asMap, "status")
	delete(asMap["metadata"].(map[string]any), "creationTimestamp")
	out, err := yaml.Marshal(asMap)
	if err != nil {
		return err
	}
	return os.WriteFile(path, append([]byte("---\n"), out...), 0o644)
}

func bound(parent *apiextensionsv1.JSONSchemaProps, field string) {
	labels, ok := parent.Properties[field]
	if !ok {
		panic(fmt.Sprintf("the CRD has no %s: the upstream schema changed", field))
	}
	n := int64(maxLabels)
	labels.MaxProperties = &n
	if labels.AdditionalProperties != nil && labels.AdditionalProperties.Schema != nil {
		v := int64(maxLabelValueLength)
		labels.AdditionalProperties.Schema.MaxLength = &v
	}
	parent.Properties[field] = labels
}

// boundClaims bounds what the volumeClaimTemplates rules compare.
func boundClaims(spec *apiextensionsv1.JSONSchemaProps) {
	claims, ok := spec.Properties["volumeClaimTemplates"]
	if !ok || claims.Items == nil || claims.Items.Schema == nil {
		panic("the CRD has no volumeClaimTemplates: the upstream schema changed")
	}
	claims.MaxItems = ptr(int64(maxClaims))
	claim := claims.Items.Schema
	edit(claim, "metadata", func(m *apiextensionsv1.JSONSchemaProps) {
		edit(m, "name", func(n *apiextensionsv1.JSONSchemaProps) { n.MaxLength = ptr(int64(maxNameLength)) })
	})
	edit(claim, "spec", func(s *apiextensionsv1.JSONSchemaProps) {
		edit(s, "accessModes", func(a *apiextensionsv1.JSONSchemaProps) {
			a.MaxItems = ptr(int64(maxAccessModes))
			a.Items.Schema.MaxLength = ptr(int64(maxShortString))
		})
		edit(s, "storageClassName", func(n *apiextensionsv1.JSONSchemaProps) { n.MaxLength = ptr(int64(maxNameLength)) })
		edit(s, "volumeMode", func(n *apiextensionsv1.JSONSchemaProps) { n.MaxLength = ptr(int64(maxShortString)) })
		edit(s, "resources", func(r *apiextensionsv1.JSONSchemaProps) {
			edit(r, "requests", func(q *apiextensionsv1.JSONSchemaProps) {
				q.MaxProperties = ptr(int64(maxResources))
				q.AdditionalProperties.Schema.MaxLength = ptr(int64(maxShortString))
			})
		})
	})
	spec.Properties["volumeClaimTemplates"] = claims
}

// edit changes the property field of parent in place.
func edit(parent *apiextensionsv1.JSONSchemaProps, field string, change func(*apiextensionsv1.JSONSchemaProps)) {
	p, ok := parent.Properties[field]
	if !ok {
		panic(fmt.Sprintf("the CRD has no %s: the upstream schema changed", field))
	}
	change(&p)
	parent.Properties[field] = p
}

func ptr[T any](v T) *T { return &v }

func convert(from, to any) error {
	data, err := yaml.Marshal(from)
	if err != nil {
		return err
	}
	return yaml.Unmarshal(data, to)
}
