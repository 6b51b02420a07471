package controller

import (
	"cmp"
	"encoding/json"
	"fmt"
	"maps"
	"slices"
	"strings"

	"google.golang.org/protobuf/encoding/protojson"
	"google.golang.org/protobuf/proto"
	analysisv1alpha1 "istio.io/api/analysis/v1alpha1"
	networkingapi "istio.io/api/networking/v1alpha3"
	networkingv1 "istio.io/client-go/pkg/apis/networking/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/runtime/schema"
	"k8s.io/apimachinery/pkg/types"

	"skiff.dev/skiff/pkg/analyze"
	"skiff.dev/skiff/pkg/model"
)

// Istio kinds the controller validates, reports on and builds the model from.
const (
	kindVirtualService        = "VirtualService"
	kindDestinationRule       = "DestinationRule"
	kindGateway               = "Gateway"
	kindServiceEntry          = "ServiceEntry"
	kindSidecar               = "Sidecar"
	kindPeerAuthentication    = "PeerAuthentication"
	kindAuthorizationPolicy   = "AuthorizationPolicy"
	kindRequestAuthentication = "RequestAuthentication"
	kindTelemetry             = "Telemetry"
)

// configKinds lists them in a fixed order, for metrics that report every kind (zero included).
func configKinds() []string {
	return []string{kindVirtualService, kindDestinationRule, kindGateway, kindServiceEntry, kindSidecar,
		kindPeerAuthentication, kindAuthorizationPolicy, kindRequestAuthentication, kindTelemetry}
}

// configObject is one Istio object of the input, with what validation and status writes need.
type configObject struct {
	kind   string
	gvr    schema.GroupVersionResource
	meta   metav1.Object
	spec   proto.Message
	status istioStatus
}

// istioStatus is what the controller reads of an object's status (IstioStatus; ServiceEntryStatus).
type istioStatus interface {
	GetValidationMessages() []*analysisv1alpha1.AnalysisMessageBase
	GetObservedGeneration() int64
}

func (o configObject) key() string {
	return o.kind + "/" + o.meta.GetNamespace() + "/" + o.meta.GetName()
}

// finding is one message the controller reports on an object.
type finding struct {
	Type analyze.MessageType
	Text string
}

// configReport is the controller's verdict on one object: its messages, and whether it was left out of
// the model (invalid) or lost a conflict (it stays in the model; precedence makes another object win).
type configReport struct {
	obj      configObject
	findings []finding
	invalid  bool
	conflict bool
}

// configChecker validates the Istio objects of each rebuild. Validation results are kept per object
// generation, so an unchanged object is validated once, not on every rebuild.
type configChecker struct {
	cache map[types.UID]cachedValidation
	// onRejected is called once per newly found invalid object generation (the rejections counter, a log).
	onRejected func(o configObject, findings []finding)
}

type cachedValidation struct {
	generation int64
	findings   []finding
	rejects    bool
}

func newConfigChecker(onRejected func(configObject, []finding)) *configChecker {
	return &configChecker{cache: map[types.UID]cachedValidation{}, onRejected: onRejected}
}

// check validates every Istio object of in, drops the invalid ones, finds the conflicts the model resolves
// by precedence, and returns the input to build from with a report for every Istio object (in key order;
// objects without findings have an empty report, so their old status messages get cleared).
func (c *configChecker) check(in model.Input) (model.Input, []configReport) {
	objs := istioObjects(&in)
	reports := make(map[string]*configReport, len(objs))
	dropped := map[types.UID]bool{}
	seen := make(map[types.UID]bool, len(objs))
	for _, o := range objs {
		r := &configReport{obj: o}
		reports[o.key()] = r
		v := c.validate(o)
		seen[o.meta.GetUID()] = true
		r.findings = append(r.findings, v.findings...)
		if v.rejects {
			r.invalid = true
			dropped[o.meta.GetUID()] = true
		}
	}
	for uid := range c.cache {
		if !seen[uid] {
			delete(c.cache, uid)
		}
	}
	if len(dropped) > 0 {
		in.VirtualServices = without(in.VirtualServices, dropped)
		in.DestinationRules = without(in.DestinationRules, dropped)
		in.Gateways = without(in.Gateways, dropped)
		in.ServiceEntries = without(in.ServiceEntries, dropped)
		in.Sidecars = without(in.Sidecars, dropped)
		in.PeerAuthentications = without(in.PeerAuthentications, dropped)
		in.AuthorizationPolicies = without(in.AuthorizationPolicies, dropped)
		in.RequestAuthentications = without(in.RequestAuthentications, dropped)
		in.Telemetries = without(in.Telemetries, dropped)
	}
	for _, cf := range findConflicts(&in) {
		r := reports[cf.loser]
		if r == nil {
			continue
		}
		r.conflict = true
		r.findings = append(r.findings, cf.finding)
	}
	out := make([]configReport, 0, len(reports))
	for _, k := range slices.Sorted(maps.Keys(reports)) {
		out = append(out, *reports[k])
	}
	return in, out
}

// validate runs the validation webhook's checks on one object, from the cache when its generation was
// already validated.
func (c *configChecker) validate(o configObject) cachedValidation {
	uid, gen := o.meta.GetUID(), o.meta.GetGeneration()
	if v, ok := c.cache[uid]; ok && v.generation == gen && uid != "" {
		return v
	}
	v := cachedValidation{generation: gen}
	raw, err := objectJSON(o)
	if err != nil {
		v.findings = []finding{{Type: analyze.InternalError, Text: fmt.Sprintf(analyze.InternalError.Template, err)}}
		v.rejects = true
	} else {
		for _, m := range analyze.ValidateObject(raw) {
			v.findings = append(v.findings, finding{Type: m.Type, Text: m.Text})
			if m.Rejects() {
				v.rejects = true
			}
		}
	}
	if uid != "" {
		c.cache[uid] = v
	}
	if v.rejects && c.onRejected != nil {
		c.onRejected(o, v.findings)
	}
	return v
}

// objectJSON renders the object as the validation webhook receives it: apiVersion, kind, metadata, spec.
func objectJSON(o configObject) ([]byte, error) {
	spec, err := protojson.Marshal(o.spec)
	if err != nil {
		return nil, fmt.Errorf("encoding the spec: %w", err)
	}
	return json.Marshal(map[string]any{
		"apiVersion": o.gvr.GroupVersion().String(),
		"kind":       o.kind,
		"metadata": map[string]any{
			"name": o.meta.GetName(), "namespace": o.meta.GetNamespace(),
			"labels": o.meta.GetLabels(), "annotations": o.meta.GetAnnotations(),
		},
		"spec": json.RawMessage(spec),
	})
}

func without[T metav1.Object](objs []T, dropped map[types.UID]bool) []T {
	return slices.DeleteFunc(slices.Clone(objs), func(o T) bool { return dropped[o.GetUID()] })
}

func istioObjects(in *model.Input) []configObject {
	var out []configObject
	net := func(res string) schema.GroupVersionResource {
		return schema.GroupVersionResource{Group: "networking.istio.io", Version: "v1", Resource: res}
	}
	sec := func(res string) schema.GroupVersionResource {
		return schema.GroupVersionResource{Group: "security.istio.io", Version: "v1", Resource: res}
	}
	for _, o := range in.VirtualServices {
		out = append(out, configObject{kindVirtualService, net("virtualservices"), o, &o.Spec, &o.Status})
	}
	for _, o := range in.DestinationRules {
		out = append(out, configObject{kindDestinationRule, net("destinationrules"), o, &o.Spec, &o.Status})
	}
	for _, o := range in.Gateways {
		out = append(out, configObject{kindGateway, net("gateways"), o, &o.Spec, &o.Status})
	}
	for _, o := range in.ServiceEntries {
		out = append(out, configObject{kindServiceEntry, net("serviceentries"), o, &o.Spec, &o.Status})
	}
	for _, o := range in.Sidecars {
		out = append(out, configObject{kindSidecar, net("sidecars"), o, &o.Spec, &o.Status})
	}
	for _, o := range in.PeerAuthentications {
		out = append(out, configObject{kindPeerAuthentication, sec("peerauthentications"), o, &o.Spec, &o.Status})
	}
	for _, o := range in.AuthorizationPolicies {
		out = append(out, configObject{kindAuthorizationPolicy, sec("authorizationpolicies"), o, &o.Spec, &o.Status})
	}
	for _, o := range in.RequestAuthentications {
		out = append(out, configObject{kindRequestAuthentication, sec("requestauthentications"), o, &o.Spec, &o.Status})
	}
	for _, o := range in.Telemetries {
		out = append(out, configObject{kindTelemetry, schema.GroupVersionResource{Group: "telemetry.istio.io", Version: "v1", Resource: "telemetries"}, o, &o.Spec, &o.Status})
	}
	return out
}

// conflict names an object that lost to another by precedence.
type conflict struct {
	loser   string // configObject key
	finding finding
}

// findConflicts reports the conflicts the model resolves by precedence (oldest creationTimestamp, then
// namespace/name, as Istio): each loser gets a message naming the winner. The model itself already
// applies only the winner, so nothing is removed here.
//   - VirtualServices bound to the mesh with the same exact host (IST0109): the oldest routes the host.
//   - Sidecars without workloadSelector in one namespace (IST0111): the oldest is the namespace default.
//   - PeerAuthentications without selector in one namespace (SKF0101): the oldest sets the namespace mode.
//   - Gateways selecting one workload with servers on the same port and host (IST0145): the oldest
//     Gateway's server gets the host (the router generator keeps the first of repeated filter chains and
//     virtual host domains).
func findConflicts(in *model.Input) []conflict {
	suffix := cmp.Or(in.DomainSuffix, model.DefaultDomainSuffix)
	var out []conflict

	byHost := map[string][]metav1.Object{}
	for _, vs := range in.VirtualServices {
		gws := vs.Spec.GetGateways()
		if len(gws) > 0 && !slices.Contains(gws, "mesh") {
			continue
		}
		hosts := map[string]bool{}
		for _, h := range vs.Spec.GetHosts() {
			if host := model.ResolveHost(h, vs.Namespace, suffix); !strings.HasPrefix(host, "*") {
				hosts[host] = true
			}
		}
		for h := range hosts {
			byHost[h] = append(byHost[h], vs)
		}
	}
	out = append(out, conflictLosers(kindVirtualService, byHost, analyze.ConflictingMeshGatewayVirtualServiceHosts, func(h string, group []metav1.Object) string {
		return fmt.Sprintf(analyze.ConflictingMeshGatewayVirtualServiceHosts.Template, names(group), h) +
			" " + qualified(group[0]) + " is the oldest and applies."
	})...)

	sidecars := map[string][]metav1.Object{}
	for _, sc := range in.Sidecars {
		if sc.Spec.GetWorkloadSelector() == nil {
			sidecars[sc.Namespace] = append(sidecars[sc.Namespace], sc)
		}
	}
	out = append(out, conflictLosers(kindSidecar, sidecars, analyze.MultipleSidecarsWithoutWorkloadSelectors, func(ns string, group []metav1.Object) string {
		return fmt.Sprintf(analyze.MultipleSidecarsWithoutWorkloadSelectors.Template, names(group), ns) +
			" Only the oldest, " + qualified(group[0]) + ", applies."
	})...)

	out = append(out, gatewayConflicts(in)...)

	pas := map[string][]metav1.Object{}
	for _, pa := range in.PeerAuthentications {
		if pa.Spec.GetSelector() == nil {
			pas[pa.Namespace] = append(pas[pa.Namespace], pa)
		}
	}
	// Istio has no code for this (it resolves the conflict silently); SKF0101 is Skiff's, also reported
	// by `skiff analyze`.
	out = append(out, conflictLosers(kindPeerAuthentication, pas, analyze.MultiplePeerAuthenticationsWithoutSelector, func(ns string, group []metav1.Object) string {
		return fmt.Sprintf(analyze.MultiplePeerAuthenticationsWithoutSelector.Template, names(group), ns, qualified(group[0]))
	})...)
	return out
}

// conflictLosers orders each group (by key) by precedence and reports every member after the first as losing
// to it, with one finding of type t whose text is made for the group.
func conflictLosers(kind string, groups map[string][]metav1.Object, t analyze.MessageType, text func(key string, group []metav1.Object) string) []conflict {
	var out []conflict
	for _, k := range slices.Sorted(maps.Keys(groups)) {
		group := precedence(groups[k])
		if len(group) < 2 {
			continue
		}
		f := finding{t, text(k, group)}
		for _, loser := range group[1:] {
			out = append(out, conflict{kind + "/" + qualified(loser), f})
		}
	}
	return out
}

// precedence sorts objects as the model does: oldest first, then namespace/name.
func precedence[T metav1.Object](objs []T) []T {
	out := slices.Clone(objs)
	slices.SortStableFunc(out, func(a, b T) int { return model.OlderFirst(a, b) })
	return out
}

func qualified(o metav1.Object) string { return o.GetNamespace() + "/" + o.GetName() }

func names(objs []metav1.Object) string {
	out := make([]string, len(objs))
	for i, o := range objs {
		out[i] = qualified(o)
	}
	return strings.Join(out, ",")
}

func findingTexts(fs []finding) string {
	texts := make([]string, len(fs))
	for i, f := range fs {
		texts[i] = f.Type.Code + " " + f.Text
	}
	return strings.Join(texts, "; ")
}

// gatewayConflicts finds, for each set of pod labels, the Gateways that select it and the servers they
// declare on the same port and protocol class with the same host; a later Gateway (by precedence) loses
// the host to the first. Only exact host repeats conflict: Envoy tells "*.example.com" and
// "a.example.com" apart by specificity.
func gatewayConflicts(in *model.Input) []conflict {
	if len(in.Gateways) < 2 {
		return nil
	}
	// Claims first, ignoring workloads: usually no port/host is claimed twice and the pods need no look.
	claims := map[string][]*networkingv1.Gateway{} // port/class/host -> Gateways in precedence order
	for _, gw := range precedence(in.Gateways) {
		for _, srv := range gw.Spec.GetServers() {
			for _, h := range srv.GetHosts() {
				if _, host, ok := strings.Cut(h, "/"); ok {
					h = host
				}
				k := fmt.Sprint(srv.GetPort().GetNumber()) + "/" + serverClass(srv) + "/" + strings.ToLower(h)
				if list := claims[k]; len(list) == 0 || list[len(list)-1] != gw {
					claims[k] = append(list, gw)
				}
			}
		}
	}
	type lost struct{ loser, winner, selector, port, host string }
	found := map[lost]bool{}
	for k, list := range claims {
		if len(list) < 2 {
			continue
		}
		port, rest, _ := strings.Cut(k, "/")
		_, host, _ := strings.Cut(rest, "/")
		// On each workload, the first Gateway selecting it keeps the host.
		for _, p := range in.Pods {
			var winner *networkingv1.Gateway
			for _, gw := range list {
				switch {
				case !selects(gw.Spec.GetSelector(), p.Labels):
				case winner == nil:
					winner = gw
				default:
					found[lost{qualified(gw), qualified(winner), labelKey(gw.Spec.GetSelector()), port, host}] = true
				}
			}
		}
	}
	var out []conflict
	for _, l := range slices.SortedFunc(maps.Keys(found), func(a, b lost) int {
		return cmp.Or(cmp.Compare(a.loser, b.loser), cmp.Compare(a.winner, b.winner), cmp.Compare(a.port, b.port), cmp.Compare(a.host, b.host))
	}) {
		text := fmt.Sprintf(analyze.ConflictingGateways.Template, l.winner, l.selector, l.port, []string{l.host}) +
			" " + l.winner + " is older and serves the host."
		out = append(out, conflict{kindGateway + "/" + l.loser, finding{analyze.ConflictingGateways, text}})
	}
	return out
}

// serverClass groups server protocols as a router listener does: plain HTTP virtual hosts, SNI-matched
// TLS filter chains, and plain TCP.
func serverClass(srv *networkingapi.Server) string {
	switch proto := model.ParseProtocol(srv.GetPort().GetProtocol()); {
	case proto == model.HTTP || proto == model.HTTP2 || proto == model.GRPC:
		return "http"
	case proto == model.TCP && srv.GetTls() == nil:
		return "tcp"
	}
	return "tls"
}

// selects is the router generator's selector rule: every selector label on the pod (empty selects all).
func selects(selector, labels map[string]string) bool {
	for k, v := range selector {
		if got, ok := labels[k]; !ok || got != v {
			return false
		}
	}
	return true
}

func labelKey(labels map[string]string) string {
	var parts []string
	for _, k := range slices.Sorted(maps.Keys(labels)) {
		parts = append(parts, k+"="+labels[k])
	}
	return strings.Join(parts, ",")
}
