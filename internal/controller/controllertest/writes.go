// Package controllertest helps test the controller: it counts the writes a
// reconcile makes, against a fake client or a real API server.
package controllertest

import (
	"context"
	"fmt"
	"sync"

	"k8s.io/apimachinery/pkg/runtime"
	"sigs.k8s.io/controller-runtime/pkg/client"
)

// Writes wraps a client and records every write made through it as
// "verb Kind namespace/name"; reads pass through unrecorded.
type Writes struct {
	client.Client
	mu      sync.Mutex
	written []string
}

// RecordWrites wraps c.
func RecordWrites(c client.Client) *Writes { return &Writes{Client: c} }

// Take returns the writes recorded since the last call and forgets them.
func (w *Writes) Take() []string {
	w.mu.Lock()
	defer w.mu.Unlock()
	out := w.written
	w.written = nil
	return out
}

func (w *Writes) record(verb string, obj runtime.Object) {
	if obj == nil {
		// An apply configuration: its kind and name are not at hand.
		w.add(verb + " (apply configuration)")
		return
	}
	name := ""
	if o, ok := obj.(client.Object); ok {
		name = o.GetNamespace() + "/" + o.GetName()
	}
	kind := fmt.Sprintf("%T", obj)
	if gvk, err := w.GroupVersionKindFor(obj); err == nil {
		kind = gvk.Kind
	}
	w.add(verb + " " + kind + " " + name)
}

func (w *Writes) add(write string) {
	w.mu.Lock()
	defer w.mu.Unlock()
	w.written = append(w.written, write)
}

func (w *Writes) Create(ctx context.Context, obj client.Object, opts ...client.CreateOption) error {
	w.record("create", obj)
	return w.Client.Create(ctx, obj, opts...)
}

func (w *Writes) Update(ctx context.Context, obj client.Object, opts ...client.UpdateOption) error {
	w.record("update", obj)
	return w.Client.Update(ctx, obj, opts...)
}

func (w *Writes) Patch(ctx context.Context, obj client.Object, patch client.Patch, opts ...client.PatchOption) error {
	w.record("patch", obj)
	return w.Client.Patch(ctx, obj, patch, opts...)
}

func (w *Writes) Apply(ctx context.Context, obj runtime.ApplyConfiguration, opts ...client.ApplyOption) error {
	w.record("apply", nil)
	return w.Client.Apply(ctx, obj, opts...)
}

func (w *Writes) Delete(ctx context.Context, obj client.Object, opts ...client.DeleteOption) error {
	w.record("delete", obj)
	return w.Client.Delete(ctx, obj, opts...)
}

func (w *Writes) DeleteAllOf(ctx context.Context, obj client.Object, opts ...client.DeleteAllOfOption) error {
	w.record("deleteAllOf", obj)
	return w.Client.DeleteAllOf(ctx, obj, opts...)
}

func (w *Writes) Status() client.SubResourceWriter { return w.SubResource("status") }

func (w *Writes) SubResource(name string) client.SubResourceClient {
	return &subResourceWrites{SubResourceClient: w.Client.SubResource(name), name: name, writes: w}
}

// subResourceWrites records writes to one subresource, such as status.
type subResourceWrites struct {
	client.SubResourceClient
	name   string
	writes *Writes
}

func (s *subResourceWrites) Create(ctx context.Context, obj client.Object, sub client.Object, opts ...client.SubResourceCreateOption) error {
	s.writes.record("create/"+s.name, obj)
	return s.SubResourceClient.Create(ctx, obj, sub, opts...)
}

func (s *subResourceWrites) Update(ctx context.Context, obj client.Object, opts ...client.SubResourceUpdateOption) error {
	s.writes.record("update/"+s.name, obj)
	return s.SubResourceClient.Update(ctx, obj, opts...)
}

func (s *subResourceWrites) Patch(ctx context.Context, obj client.Object, patch client.Patch, opts ...client.SubResourcePatchOption) error {
	s.writes.record("patch/"+s.name, obj)
	return s.SubResourceClient.Patch(ctx, obj, patch, opts...)
}

func (s *subResourceWrites) Apply(ctx context.Context, obj runtime.ApplyConfiguration, opts ...client.SubResourceApplyOption) error {
	s.writes.record("apply/"+s.name, nil)
	return s.SubResourceClient.Apply(ctx, obj, opts...)
}
