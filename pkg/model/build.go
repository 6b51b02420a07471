package model

import (
	"cmp"
	"maps"
	"slices"
	"strings"

	networking "istio.io/api/networking/v1alpha3"
	networkingv1 "istio.io/client-go/pkg/apis/networking/v1"
	corev1 "k8s.io/api/core/v1"
	discoveryv1 "k8s.io/api/discovery/v1"
)

// Build assembles an immutable Mesh. It never fails: objects that cannot contribute (a slice for an unknown
// service, a UDP port) are skipped, as a control plane must keep serving with partial config.
func Build(in Input) *Mesh {
	suffix := cmp.Or(in.DomainSuffix, DefaultDomainSuffix)
	m := &Mesh{domainSuffix: suffix, trustDomain: cmp.Or(in.TrustDomain, DefaultTrustDomain), rootNamespace: cmp.Or(in.RootNamespace, DefaultRootNamespace), byHost: map[string]*Service{}}

	for _, s := range in.Services {
		svc := kubeService(s, suffix)
		if svc != nil && m.byHost[svc.Hostname] == nil {
			m.byHost[svc.Hostname] = svc
		}
	}
	addSliceEndpoints(m.byHost, in.EndpointSlices, in.Pods, suffix)
	for _, se := range sortedConfig(in.ServiceEntries) {
		for _, svc := range serviceEntryServices(se) {
			if m.byHost[svc.Hostname] == nil {
				m.byHost[svc.Hostname] = svc
			}
		}
	}
	for _, svc := range m.byHost {
		slices.SortFunc(svc.Endpoints, func(a, b Endpoint) int { return cmp.Compare(a.Address, b.Address) })
		m.services = append(m.services, svc)
	}
	slices.SortFunc(m.services, func(a, b *Service) int { return cmp.Compare(a.Hostname, b.Hostname) })

	m.virtualServices = sortedConfig(in.VirtualServices)
	for _, dr := range sortedConfig(in.DestinationRules) {
		m.destinationRules = append(m.destinationRules, DestinationRule{
			Host:      ResolveHost(dr.Spec.GetHost(), dr.Namespace, suffix),
			Namespace: dr.Namespace,
			Name:      dr.Name,
			Spec:      &dr.Spec,
		})
	}
	m.index()
	m.gateways = sortedConfig(in.Gateways)
	m.credentials = buildCredentials(in.Secrets, m.gateways)
	m.peerAuthentications = sortedConfig(in.PeerAuthentications)
	m.authorizationPolicies = sortedConfig(in.AuthorizationPolicies)
	m.requestAuthentications = sortedConfig(in.RequestAuthentications)
	m.sidecars = sortedConfig(in.Sidecars)
	m.telemetry = newTelemetries(in.Telemetries, in.MeshConfig, m.rootNamespace)
	return m
}

func kubeService(s *corev1.Service, suffix string) *Service {
	svc := &Service{
		Hostname:  KubeHostname(s.Name, s.Namespace, suffix),
		Name:      s.Name,
		Namespace: s.Namespace,
	}
	if e := s.Annotations[ExportToAnnotation]; e != "" {
		for _, ns := range strings.Split(e, ",") {
			svc.ExportTo = append(svc.ExportTo, strings.TrimSpace(ns))
		}
	}
	if ip := s.Spec.ClusterIP; ip != "" && ip != corev1.ClusterIPNone {
		svc.Address = ip
	}
	for _, p := range s.Spec.Ports {
		proto := PortProtocol(p.Name, ptrValue(p.AppProtocol), string(p.Protocol))
		if proto == UDP {
			continue
		}
		svc.Ports = append(svc.Ports, Port{Name: p.Name, Number: uint32(p.Port), Protocol: proto})
	}
	if s.Spec.Type == corev1.ServiceTypeExternalName && s.Spec.ExternalName != "" {
		svc.Resolution = ResolutionDNS
		svc.External = true
		ports := map[string]uint32{}
		for _, p := range svc.Ports {
			ports[p.Name] = p.Number
		}
		svc.Endpoints = []Endpoint{{Address: s.Spec.ExternalName, Ports: ports}}
	}
	if len(svc.Ports) == 0 {
		return nil
	}
	slices.SortFunc(svc.Ports, func(a, b Port) int { return cmp.Compare(a.Number, b.Number) })
	return svc
}

func addSliceEndpoints(byHost map[string]*Service, slicesIn []*discoveryv1.EndpointSlice, pods []*corev1.Pod, suffix string) {
	podByKey := make(map[string]*corev1.Pod, len(pods))
	for _, p := range pods {
		podByKey[p.Namespace+"/"+p.Name] = p
	}
	for _, es := range slicesIn {
		if es.AddressType == discoveryv1.AddressTypeFQDN {
			continue
		}
		svc := byHost[KubeHostname(es.Labels[discoveryv1.LabelServiceName], es.Namespace, suffix)]
		if svc == nil || svc.Resolution != ResolutionEDS {
			continue
		}
		ports := map[string]uint32{}
		for _, p := range es.Ports {
			if p.Port != nil {
				ports[ptrValue(p.Name)] = uint32(*p.Port)
			}
		}
		for _, ep := range es.Endpoints {
			if ep.Conditions.Ready != nil && !*ep.Conditions.Ready {
				continue
			}
			var labels map[string]string
			sa := ""
			if ref := ep.TargetRef; ref != nil && ref.Kind == "Pod" {
				if pod := podByKey[cmp.Or(ref.Namespace, es.Namespace)+"/"+ref.Name]; pod != nil {
					labels = pod.Labels
					sa = pod.Spec.ServiceAccountName
				}
			}
			for _, addr := range ep.Addresses {
				svc.Endpoints = append(svc.Endpoints, Endpoint{
					Address:        addr,
					Ports:          ports,
					Labels:         labels,
					Zone:           ptrValue(ep.Zone),
					ServiceAccount: sa,
				})
			}
		}
	}
}

func serviceEntryServices(se *networkingv1.ServiceEntry) []*Service {
	spec := &se.Spec
	var ports []Port
	for _, p := range spec.GetPorts() {
		proto := ParseProtocol(p.GetProtocol())
		if proto == UDP {
			continue
		}
		ports = append(ports, Port{Name: p.GetName(), Number: p.GetNumber(), Protocol: proto})
	}
	if len(ports) == 0 {
		return nil
	}
	slices.SortFunc(ports, func(a, b Port) int { return cmp.Compare(a.Number, b.Number) })
	resolution := ResolutionEDS
	switch spec.GetResolution() {
	case networking.ServiceEntry_DNS, networking.ServiceEntry_DNS_ROUND_ROBIN:
		resolution = ResolutionDNS
	case networking.ServiceEntry_NONE:
		resolution = ResolutionPassthrough
	}
	targetPorts := map[string]uint32{}
	for _, p := range spec.GetPorts() {
		targetPorts[p.GetName()] = cmp.Or(p.GetTargetPort(), p.GetNumber())
	}
	var out []*Service
	for i, host := range spec.GetHosts() {
		svc := &Service{
			Hostname:   host,
			Name:       se.Name,
			Namespace:  se.Namespace,
			Ports:      ports,
			Resolution: resolution,
			External:   spec.GetLocation() == networking.ServiceEntry_MESH_EXTERNAL,
			ExportTo:   spec.GetExportTo(),
		}
		if i < len(spec.GetAddresses()) {
			svc.Address = spec.GetAddresses()[i]
		}
		for _, we := range spec.GetEndpoints() {
			epPorts := maps.Clone(targetPorts)
			maps.Copy(epPorts, we.GetPorts())
			svc.Endpoints = append(svc.Endpoints, Endpoint{
				Address:        we.GetAddress(),
				Ports:          epPorts,
				Labels:         we.GetLabels(),
				ServiceAccount: we.GetServiceAccount(),
				Weight:         we.GetWeight(),
			})
		}
		// A DNS entry without endpoints resolves its own hostname; a wildcard cannot be resolved.
		if resolution == ResolutionDNS && len(svc.Endpoints) == 0 {
			if strings.HasPrefix(host, "*") {
				svc.Resolution = ResolutionPassthrough
			} else {
				svc.Endpoints = []Endpoint{{Address: host, Ports: targetPorts}}
			}
		}
		out = append(out, svc)
	}
	return out
}

func ptrValue[T any](p *T) T {
	var zero T
	if p == nil {
		return zero
	}
	return *p
}

func (m *Mesh) index() {
	m.vsByHost = map[string][]*networkingv1.VirtualService{}
	m.vsByName = map[string]*networkingv1.VirtualService{}
	for _, vs := range m.virtualServices {
		m.vsByName[vs.Namespace+"/"+vs.Name] = vs
		seen := map[string]bool{}
		for _, h := range vs.Spec.GetHosts() {
			host := ResolveHost(h, vs.Namespace, m.domainSuffix)
			if seen[host] {
				continue
			}
			seen[host] = true
			if strings.HasPrefix(host, "*") {
				m.vsWildcard = append(m.vsWildcard, hostVirtualService{host: host, vs: vs})
			} else {
				m.vsByHost[host] = append(m.vsByHost[host], vs)
			}
		}
	}
	m.drByHost = map[string][]*DestinationRule{}
	for i := range m.destinationRules {
		dr := &m.destinationRules[i]
		if strings.HasPrefix(dr.Host, "*") {
			m.drWildcard = append(m.drWildcard, dr)
		} else {
			m.drByHost[dr.Host] = append(m.drByHost[dr.Host], dr)
		}
	}
}
