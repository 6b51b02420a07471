package analyze

// MessageType is one entry of the message catalogue. IST codes, names, levels and templates are Istio's
// (pkg/config/analysis/msg/messages.yaml) so that suppressions, dashboards and runbooks written for istioctl
// carry over; SKF codes are Skiff's own checks where Istio has none.
type MessageType struct {
	Code        string
	Name        string
	Level       Level
	Description string
	// Template is a fmt format filled with the message's arguments.
	Template string
	// Help is a longer explanation and the usual fix, for docs/analyzers.
	Help string
}

// DocPath is the message type's documentation page, relative to the repository root.
func (t MessageType) DocPath() string { return "docs/analyzers/" + t.Code + ".md" }

// The catalogue. Read-only: never modified after initialisation.
var (
	InternalError = MessageType{Code: "IST0001", Name: "InternalError", Level: Error,
		Description: "There was an internal error in the toolchain. This is almost always a bug in the implementation.",
		Template:    "Internal error: %v"}
	ReferencedResourceNotFound = MessageType{Code: "IST0101", Name: "ReferencedResourceNotFound", Level: Error,
		Description: "A resource being referenced does not exist.",
		Template:    "Referenced %s not found: %q",
		Help: "A VirtualService names a gateway, host or subset, a Gateway selects workloads, or a terminating Gateway " +
			"server's credentialName names a Secret, that are not in the analysed configuration. Create the missing " +
			"object, fix the name (short host names resolve in the referring object's namespace; a credential Secret must " +
			"be in the gateway workload's namespace, not the Gateway's), or include the file that defines it in the " +
			"analysis. Missing Secrets are only reported when the input includes Secrets (a cluster, or files with Secrets)."}
	NamespaceNotInjected = MessageType{Code: "IST0102", Name: "NamespaceNotInjected", Level: Info,
		Description: "A namespace is not enabled for Istio injection.",
		Template:    "The namespace is not enabled for Istio injection. Run 'kubectl label namespace %s istio-injection=enabled' to enable it, or 'kubectl label namespace %s istio-injection=disabled' to explicitly mark it as not needing injection.",
		Help:        "Label the namespace `istio-injection=enabled` (or `istio.io/rev=<revision>`) so new pods get a proxy, or `istio-injection=disabled` to record that it is deliberately outside the mesh."}
	PodMissingProxy = MessageType{Code: "IST0103", Name: "PodMissingProxy", Level: Warning,
		Description: "A pod is missing the Istio proxy.",
		Template:    "The pod %s is missing the Istio proxy. This can often be resolved by restarting or redeploying the workload.",
		Help:        "The pod runs in a namespace enabled for injection but has no istio-proxy container, usually because it started before the label was set. Restart the workload (`kubectl rollout restart deployment/<name>`)."}
	GatewayPortNotOnWorkload = MessageType{Code: "IST0104", Name: "GatewayPortNotOnWorkload", Level: Warning,
		Description: "Unhandled gateway port",
		Template:    "The gateway refers to a port that is not exposed on the workload (pod selector %s; port %d)",
		Help: "A Gateway server listens on a port that no Service in front of the selected gateway pods exposes, so traffic " +
			"to that port never reaches the gateway. Add the port to the gateway's Service or change the server's port. " +
			"(Istio retired this code in favour of IST0162; Skiff keeps the original code.)"}
	SchemaValidationError = MessageType{Code: "IST0106", Name: "SchemaValidationError", Level: Error,
		Description: "The resource has a schema validation error.",
		Template:    "Schema validation error: %v",
		Help: "The object does not decode into its Istio API type (unknown field, wrong type, bad enum value, two fields " +
			"of a oneof) or breaks one of Istio's validation rules. The API server or istiod would reject or ignore it."}
	MisplacedAnnotation = MessageType{Code: "IST0107", Name: "MisplacedAnnotation", Level: Warning,
		Description: "An Istio annotation is applied to the wrong kind of resource.",
		Template:    "Misplaced annotation: %s can only be applied to %s",
		Help:        "Move the annotation to the kind of object it is defined for (for example pod annotations belong on the Deployment's pod template, not on the Deployment)."}
	UnknownAnnotation = MessageType{Code: "IST0108", Name: "UnknownAnnotation", Level: Warning,
		Description: "An Istio annotation is not recognized for any kind of resource",
		Template:    "Unknown annotation: %s",
		Help:        "The annotation is in an istio.io domain but is not one Istio defines (see istio.io/api/annotation); it is most likely misspelt and has no effect."}
	ConflictingMeshGatewayVirtualServiceHosts = MessageType{Code: "IST0109", Name: "ConflictingMeshGatewayVirtualServiceHosts", Level: Error,
		Description: "Conflicting hosts on VirtualServices associated with mesh gateway",
		Template:    "The VirtualServices %s associated with mesh gateway define the same host %s which can lead to undefined behavior. This can be fixed by merging the conflicting VirtualServices into a single resource.",
		Help:        "Two VirtualServices bound to the mesh (no `gateways`, or `mesh`) claim the same host; only one of them takes effect. Merge them."}
	ConflictingSidecarWorkloadSelectors = MessageType{Code: "IST0110", Name: "ConflictingSidecarWorkloadSelectors", Level: Error,
		Description: "A Sidecar resource selects the same workloads as another Sidecar resource",
		Template:    "The Sidecars %v in namespace %q select the same workload pod %q, which can lead to undefined behavior.",
		Help:        "A workload may be selected by at most one Sidecar. Narrow the workloadSelectors so that they do not overlap."}
	MultipleSidecarsWithoutWorkloadSelectors = MessageType{Code: "IST0111", Name: "MultipleSidecarsWithoutWorkloadSelectors", Level: Error,
		Description: "More than one sidecar resource in a namespace has no workload selector",
		Template:    "The Sidecars %v in namespace %q have no workload selector, which can lead to undefined behavior.",
		Help:        "Only one Sidecar per namespace may omit workloadSelector (the namespace default). Merge them or add selectors."}
	VirtualServiceDestinationPortSelectorRequired = MessageType{Code: "IST0112", Name: "VirtualServiceDestinationPortSelectorRequired", Level: Error,
		Description: "A VirtualService routes to a service with more than one port exposed, but does not specify which to use.",
		Template:    "This VirtualService routes to a service %q that exposes multiple ports %v. Specifying a port in the destination is required to disambiguate.",
		Help:        "Set `destination.port.number` on the route, since the destination Service has several ports."}
	MTLSPolicyConflict = MessageType{Code: "IST0113", Name: "MTLSPolicyConflict", Level: Error,
		Description: "A DestinationRule and Policy are in conflict with regards to mTLS.",
		Template:    "A DestinationRule and Policy are in conflict with regards to mTLS for host %s. The DestinationRule %q specifies that mTLS must be %t but the Policy object %q specifies %s.",
		Help: "A PeerAuthentication requires STRICT mTLS for the destination's namespace (or the whole mesh) while a " +
			"DestinationRule sends plain text (`tls.mode: DISABLE`); every request would be rejected. Use `ISTIO_MUTUAL` " +
			"or drop the tls setting."}
	DeploymentAssociatedToMultipleServices = MessageType{Code: "IST0116", Name: "DeploymentAssociatedToMultipleServices", Level: Warning,
		Description: "The resulting pods of a service mesh deployment can't be associated with multiple services using the same port but different protocols.",
		Template:    "This deployment %s is associated with multiple services using port %d but different protocols: %v",
		Help:        "Services selecting the same pods must agree on the protocol of a shared port; rename the ports so that their protocol prefixes match."}
	PortNameIsNotUnderNamingConvention = MessageType{Code: "IST0118", Name: "PortNameIsNotUnderNamingConvention", Level: Info,
		Description: "Port name is not under naming convention. Protocol detection is applied to the port.",
		Template:    "Port name %s (port: %d, targetPort: %s) doesn't follow the naming convention of Istio port.",
		Help:        "Name Service ports `<protocol>[-<suffix>]` (http, http2, https, grpc, tcp, tls, mongo, mysql, redis, ...) or set appProtocol so the protocol is not guessed."}
	InvalidRegexp = MessageType{Code: "IST0122", Name: "InvalidRegexp", Level: Warning,
		Description: "Invalid Regex",
		Template:    "Field %q regular expression invalid: %q (%s)",
		Help:        "Envoy uses RE2 syntax; look-arounds and back-references are not supported."}
	NoMatchingWorkloadsFound = MessageType{Code: "IST0127", Name: "NoMatchingWorkloadsFound", Level: Warning,
		Description: "There aren't workloads matching the resource labels",
		Template:    "No matching workloads for this resource with the following labels: %s",
		Help:        "The policy's selector matches no pod or pod template in its namespace (any namespace for the root namespace), so it has no effect."}
	NoServerCertificateVerificationDestinationLevel = MessageType{Code: "IST0128", Name: "NoServerCertificateVerificationDestinationLevel", Level: Warning,
		Description: "No caCertificates are set in DestinationRule, this results in no verification of presented server certificate.",
		Template:    "DestinationRule %s in namespace %s has TLS mode set to %s but no caCertificates are set to validate server identity for host: %s",
		Help:        "Set `tls.caCertificates` or `tls.credentialName` so the server's certificate is verified."}
	NoServerCertificateVerificationPortLevel = MessageType{Code: "IST0129", Name: "NoServerCertificateVerificationPortLevel", Level: Warning,
		Description: "No caCertificates are set in DestinationRule, this results in no verification of presented server certificate for traffic to a given port.",
		Template:    "DestinationRule %s in namespace %s has TLS mode set to %s but no caCertificates are set to validate server identity for host: %s at port %s",
		Help:        "Set `tls.caCertificates` or `tls.credentialName` in the port-level settings so the server's certificate is verified."}
	VirtualServiceUnreachableRule = MessageType{Code: "IST0130", Name: "VirtualServiceUnreachableRule", Level: Warning,
		Description: "A VirtualService rule will never be used because a previous rule uses the same match.",
		Template:    "VirtualService rule %v not used (%s).",
		Help:        "Rules are evaluated in order; a rule without match (or with the same match) before this one catches all its traffic. Reorder or remove it."}
	VirtualServiceIneffectiveMatch = MessageType{Code: "IST0131", Name: "VirtualServiceIneffectiveMatch", Level: Info,
		Description: "A VirtualService rule match duplicates a match in a previous rule.",
		Template:    "VirtualService rule %v match %v is not used (duplicate/overlapping match in rule %v).",
		Help:        "The match condition already appears in an earlier rule, so it never selects this rule."}
	VirtualServiceHostNotFoundInGateway = MessageType{Code: "IST0132", Name: "VirtualServiceHostNotFoundInGateway", Level: Warning,
		Description: "Host defined in VirtualService not found in Gateway.",
		Template:    "one or more host %v defined in VirtualService %s not found in Gateway %s.",
		Help:        "A VirtualService bound to a Gateway only applies to hosts that gateway's servers accept; add the host to the Gateway or remove it from the VirtualService."}
	ServiceEntryAddressesRequired = MessageType{Code: "IST0134", Name: "ServiceEntryAddressesRequired", Level: Warning,
		Description: "Virtual IP addresses are required for ports serving TCP (or unset) protocol",
		Template:    "ServiceEntry addresses are required for this protocol.",
		Help:        "Without addresses, TCP traffic to the ServiceEntry's port cannot be told apart from other traffic on the same port; set `addresses` or use an HTTP/TLS protocol."}
	DeprecatedAnnotation = MessageType{Code: "IST0135", Name: "DeprecatedAnnotation", Level: Info,
		Description: "A resource is using a deprecated Istio annotation.",
		Template:    "Annotation %q has been deprecated%s and may not work in future Istio versions.",
		Help:        "Replace the annotation with its successor (see istio.io/api/annotation)."}
	DeploymentConflictingPorts = MessageType{Code: "IST0137", Name: "DeploymentConflictingPorts", Level: Warning,
		Description: "Two services selecting the same workload with the same targetPort MUST refer to the same port.",
		Template:    "This deployment %s is associated with multiple services %v using targetPort %q but different ports: %v.",
		Help:        "Services that select the same pods and target the same container port must expose it on the same port number."}
	GatewayDuplicateCertificate = MessageType{Code: "IST0138", Name: "GatewayDuplicateCertificate", Level: Warning,
		Description: "Duplicate certificate in multiple gateways may cause 404s if clients re-use HTTP2 connections.",
		Template:    "Duplicate certificate in multiple gateways %v may cause 404s if clients re-use HTTP2 connections.",
		Help:        "Give each Gateway its own certificate, or merge the servers into one Gateway."}
	InvalidApplicationUID = MessageType{Code: "IST0144", Name: "InvalidApplicationUID", Level: Warning,
		Description: "Application pods should not run as user ID (UID) 1337",
		Template:    "User ID (UID) 1337 is reserved for the sidecar proxy.",
		Help:        "Traffic from UID 1337 bypasses the proxy's redirection; run the application under another user ID."}
	ConflictingGateways = MessageType{Code: "IST0145", Name: "ConflictingGateways", Level: Error,
		Description: "Gateway should not have the same selector, port and matched hosts of server",
		Template:    "Conflict with gateways %s (workload selector %s, port %s, hosts %v).",
		Help:        "Two Gateways select the same gateway pods and declare the same port and overlapping hosts; only one wins. Merge them or split the hosts."}
	EnvoyFilterUsesRelativeOperation = MessageType{Code: "IST0151", Name: "EnvoyFilterUsesRelativeOperation", Level: Warning,
		Description: "This EnvoyFilter does not have a priority and has a relative patch operation set which can cause the EnvoyFilter not to be applied. Using the INSERT_FIRST or ADD option or setting the priority may help in ensuring the EnvoyFilter is applied correctly.",
		Template:    "This EnvoyFilter does not have a priority and has a relative patch operation set which can cause the EnvoyFilter not to be applied. Using the INSERT_FIRST of ADD option or setting the priority may help in ensuring the EnvoyFilter is applied correctly.",
		Help:        "INSERT_BEFORE, INSERT_AFTER and REPLACE depend on another filter being present; set `priority` or use INSERT_FIRST/ADD."}
	InvalidGatewayCredential = MessageType{Code: "IST0161", Name: "InvalidGatewayCredential", Level: Error,
		Description: "The credential provided for the Gateway resource is invalid",
		Template:    "The credential referenced by the Gateway %s in namespace %s is invalid, which can cause the traffic not to work as expected.",
		Help: "The Secret a terminating server's `credentialName` names exists but cannot be served: it has neither " +
			"`tls.crt`/`tls.key` nor `cert`/`key`, a key or certificate does not parse, the key does not match the " +
			"certificate, or (MUTUAL, OPTIONAL_MUTUAL) neither `<name>-cacert` nor the Secret itself holds a CA " +
			"(`ca.crt` or `cacert`). A reference to another namespace (`<namespace>/<name>`) or another scheme is invalid " +
			"too: Skiff serves only Secrets in the gateway workload's namespace. The message ends with the reason. The " +
			"gateway skips the server (its other servers still work). Only checked when the input includes Secrets: " +
			"a cluster, or files with Secrets in them."}

	// Skiff's own codes.
	InvalidDocument = MessageType{Code: "SKF0001", Name: "InvalidDocument", Level: Error,
		Description: "A YAML document cannot be parsed or is not a Kubernetes object.",
		Template:    "%s",
		Help: "The document has a YAML syntax error or lacks apiVersion, kind or metadata.name. The other documents are " +
			"still analysed, but `skiff analyze` exits with 65 (bad input)."}
	RouteWeightsDoNotSum = MessageType{Code: "SKF0002", Name: "RouteWeightsDoNotSum", Level: Warning,
		Description: "The weights of a route's destinations do not add up to 100.",
		Template:    "The weights of %s add up to %d, not 100.",
		Help:        "Istio scales weights that do not sum to 100, which is rarely what a canary rollout meant; make them add up to 100."}
	SubsetLabelsMatchNoWorkload = MessageType{Code: "SKF0003", Name: "SubsetLabelsMatchNoWorkload", Level: Warning,
		Description: "A DestinationRule subset's labels match none of its service's workloads.",
		Template:    "Subset %q of host %s selects labels %s that no workload of Service %s carries.",
		Help:        "Traffic routed to this subset has no endpoints (503 \"no healthy upstream\"). Fix the subset's labels or the pods' labels."}
	InvalidPrincipal = MessageType{Code: "SKF0004", Name: "InvalidPrincipal", Level: Error,
		Description: "An AuthorizationPolicy principal is not in the form <trust-domain>/ns/<namespace>/sa/<service-account>.",
		Template:    "Principal %q %s; principals look like \"cluster.local/ns/<namespace>/sa/<service-account>\".",
		Help:        "Principals are SPIFFE IDs without the `spiffe://` prefix. A principal in another form never matches, so ALLOW rules deny and DENY rules are ignored."}
	UnknownIstioKind = MessageType{Code: "SKF0005", Name: "UnknownIstioKind", Level: Warning,
		Description: "An object in an istio.io API group has a kind or version Skiff does not know.",
		Template:    "Unknown Istio kind %s (apiVersion %s); the object is not analysed.",
		Help:        "Check the kind's spelling and apiVersion (for example networking.istio.io/v1)."}
	NamespaceNotFound = MessageType{Code: "SKF0006", Name: "NamespaceNotFound", Level: Error,
		Description: "An object from a file lives in a namespace that neither the cluster nor the input has.",
		Template:    "Namespace %q does not exist in the cluster or the analysed files.",
		Help:        "Applying the object would fail. Create the namespace (or add its manifest to the input), or fix metadata.namespace. Only checked with --use-kube, when the cluster's namespaces are known."}
	GatewayAutoPassthroughNotSupported = MessageType{Code: "SKF0007", Name: "GatewayAutoPassthroughNotSupported", Level: Warning,
		Description: "A Gateway server uses TLS mode AUTO_PASSTHROUGH, which Skiff's gateways do not support.",
		Template:    "Server %d (port %d) uses TLS mode AUTO_PASSTHROUGH, which Skiff does not support; the gateway skips this server.",
		Help: "AUTO_PASSTHROUGH routes mTLS traffic by the SNI names of Istio's multi-cluster east-west gateways " +
			"(`outbound_.<port>_.<subset>_.<host>`); Skiff has no multi-cluster support and leaves such a server out " +
			"of the gateway's listeners (see docs/gateways.md). To pass TLS through to a service, use `PASSTHROUGH` " +
			"with `tls` routes in a VirtualService; otherwise remove the server."}

	// Skiff's codes for conflicts the controller resolves by precedence (reported on objects' status too).
	MultiplePeerAuthenticationsWithoutSelector = MessageType{Code: "SKF0101", Name: "MultiplePeerAuthenticationsWithoutSelector", Level: Error,
		Description: "More than one PeerAuthentication in a namespace has no selector; only the oldest applies.",
		Template:    "The PeerAuthentications %s in namespace %q have no selector; only the oldest, %s, applies.",
		Help: "A namespace (or, in the root namespace, the mesh) has one namespace-wide mTLS policy. Istio and Skiff " +
			"apply the oldest selector-less PeerAuthentication (creationTimestamp, then name) and ignore the others, " +
			"so a newer policy meant to change the mode has no effect. Merge them into one, or give the others a " +
			"`selector`. Reported on each ignored policy; `skiff controller` reports it in the object's status as well. " +
			"Istio has no code for this (it resolves the conflict silently)."}
)

// Catalogue lists every message type, ordered by code.
func Catalogue() []MessageType {
	return []MessageType{
		InternalError, ReferencedResourceNotFound, NamespaceNotInjected, PodMissingProxy, GatewayPortNotOnWorkload,
		SchemaValidationError, MisplacedAnnotation, UnknownAnnotation, ConflictingMeshGatewayVirtualServiceHosts,
		ConflictingSidecarWorkloadSelectors, MultipleSidecarsWithoutWorkloadSelectors,
		VirtualServiceDestinationPortSelectorRequired, MTLSPolicyConflict, DeploymentAssociatedToMultipleServices,
		PortNameIsNotUnderNamingConvention, InvalidRegexp, NoMatchingWorkloadsFound,
		NoServerCertificateVerificationDestinationLevel, NoServerCertificateVerificationPortLevel,
		VirtualServiceUnreachableRule, VirtualServiceIneffectiveMatch, VirtualServiceHostNotFoundInGateway,
		ServiceEntryAddressesRequired, DeprecatedAnnotation, DeploymentConflictingPorts, GatewayDuplicateCertificate,
		InvalidApplicationUID, ConflictingGateways, EnvoyFilterUsesRelativeOperation, InvalidGatewayCredential,
		InvalidDocument, RouteWeightsDoNotSum, SubsetLabelsMatchNoWorkload, InvalidPrincipal, UnknownIstioKind,
		NamespaceNotFound, GatewayAutoPassthroughNotSupported, MultiplePeerAuthenticationsWithoutSelector,
	}
}

// LookupCode finds a message type by its code.
func LookupCode(code string) (MessageType, bool) {
	for _, t := range Catalogue() {
		if t.Code == code {
			return t, true
		}
	}
	return MessageType{}, false
}
