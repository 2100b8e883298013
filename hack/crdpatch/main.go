// Command crdpatch bounds the label maps of the generated StatefulSetRollout
// CRD. They come from upstream types (LabelSelector, ObjectMeta) that carry no
// size markers, so the API server estimates the CEL rule that checks the
// selector against the template labels as unbounded and refuses the CRD.
// Label keys and values have hard limits in Kubernetes anyway; writing them
// into the schema lets the rule be costed.
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

func convert(from, to any) error {
	data, err := yaml.Marshal(from)
	if err != nil {
		return err
	}
	return yaml.Unmarshal(data, to)
}
