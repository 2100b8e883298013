package controller

// The operator's permissions, generated into config/rbac/role.yaml.
// statefulsetrollouts/finalizers: a StatefulSet's owner reference sets
// blockOwnerDeletion, which clusters enforcing owner-reference permissions
// only allow to who may update the owner's finalizers.
// Events in both groups: sroll records through events.k8s.io, leader
// election through the core group.
// Secrets: notification targets reference their tokens in Secrets.
// Services: the governing Service of a rollout is created when missing.
// Leases for leader election are granted by a Role in the operator's own
// namespace (config/rbac, the chart), not cluster-wide.

// +kubebuilder:rbac:groups=sroll.dev,resources=statefulsetrollouts,verbs=get;list;watch;update;patch
// +kubebuilder:rbac:groups=sroll.dev,resources=statefulsetrollouts/status,verbs=get;update;patch
// +kubebuilder:rbac:groups=sroll.dev,resources=statefulsetrollouts/finalizers,verbs=update
// +kubebuilder:rbac:groups=apps,resources=statefulsets,verbs=get;list;watch;create;patch;delete
// +kubebuilder:rbac:groups="",resources=persistentvolumeclaims,verbs=list;patch
// +kubebuilder:rbac:groups=storage.k8s.io,resources=storageclasses,verbs=list
// +kubebuilder:rbac:groups=apps,resources=controllerrevisions,verbs=get;list;watch
// +kubebuilder:rbac:groups="",resources=services,verbs=get;list;watch;create
// +kubebuilder:rbac:groups="",resources=pods,verbs=get;list;watch;delete
// +kubebuilder:rbac:groups="",resources=pods/exec,verbs=create;get
// +kubebuilder:rbac:groups="",resources=events,verbs=create;patch
// +kubebuilder:rbac:groups=events.k8s.io,resources=events,verbs=create;patch
// +kubebuilder:rbac:groups="",resources=secrets,verbs=get

// Snapshot sets: the operator creates and deletes RolloutSnapshots (before
// a rollout, beyond keep) and their VolumeSnapshots, which it owns
// (blockOwnerDeletion: the finalizers rule).
// +kubebuilder:rbac:groups=sroll.dev,resources=rolloutsnapshots,verbs=get;list;watch;create;delete
// +kubebuilder:rbac:groups=sroll.dev,resources=rolloutsnapshots/status,verbs=get;update;patch
// +kubebuilder:rbac:groups=sroll.dev,resources=rolloutsnapshots/finalizers,verbs=update
// +kubebuilder:rbac:groups=snapshot.storage.k8s.io,resources=volumesnapshots,verbs=get;list;watch;create;delete
// A set may be one VolumeGroupSnapshot, chosen with the classes; its
// members are the snapshot controller's VolumeSnapshots, read as above.
// +kubebuilder:rbac:groups=groupsnapshot.storage.k8s.io,resources=volumegroupsnapshots,verbs=get;list;watch;create;delete
// +kubebuilder:rbac:groups=groupsnapshot.storage.k8s.io,resources=volumegroupsnapshotclasses,verbs=list
// A restore deletes each claim and creates it again from its snapshot.
// +kubebuilder:rbac:groups="",resources=persistentvolumeclaims,verbs=create;delete
