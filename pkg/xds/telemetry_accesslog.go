package xds

import (
	"strings"

	accesslogv3 "github.com/envoyproxy/go-control-plane/envoy/config/accesslog/v3"
	corev3 "github.com/envoyproxy/go-control-plane/envoy/config/core/v3"
	filev3 "github.com/envoyproxy/go-control-plane/envoy/extensions/access_loggers/file/v3"
	celv3 "github.com/envoyproxy/go-control-plane/envoy/extensions/access_loggers/filters/cel/v3"
	reqwithoutqueryv3 "github.com/envoyproxy/go-control-plane/envoy/extensions/formatter/req_without_query/v3"
	"google.golang.org/protobuf/encoding/protojson"
	"google.golang.org/protobuf/types/known/structpb"
	meshv1alpha1 "istio.io/api/mesh/v1alpha1"
	telemetryapi "istio.io/api/telemetry/v1alpha1"

	"skiff.dev/skiff/pkg/model"
)

const (
	fileAccessLogName = "envoy.access_loggers.file"
	celLogFilter      = "envoy.access_loggers.extension_filters.cel"
	devStdout         = "/dev/stdout"
)

// envoyTextLogFormat is Istio's default access log line.
const envoyTextLogFormat = "[%START_TIME%] \"%REQ(:METHOD)% %REQ(X-ENVOY-ORIGINAL-PATH?:PATH)% " +
	"%PROTOCOL%\" %RESPONSE_CODE% %RESPONSE_FLAGS% " +
	"%RESPONSE_CODE_DETAILS% %CONNECTION_TERMINATION_DETAILS% " +
	"\"%UPSTREAM_TRANSPORT_FAILURE_REASON%\" %BYTES_RECEIVED% %BYTES_SENT% " +
	"%DURATION% %RESP(X-ENVOY-UPSTREAM-SERVICE-TIME)% \"%REQ(X-FORWARDED-FOR)%\" " +
	"\"%REQ(USER-AGENT)%\" \"%REQ(X-REQUEST-ID)%\" \"%REQ(:AUTHORITY)%\" \"%UPSTREAM_HOST%\" " +
	"%UPSTREAM_CLUSTER% %UPSTREAM_LOCAL_ADDRESS% %DOWNSTREAM_LOCAL_ADDRESS% " +
	"%DOWNSTREAM_REMOTE_ADDRESS% %REQUESTED_SERVER_NAME% %ROUTE_NAME%\n"

// envoyJSONLogLabels are Istio's default JSON access log fields.
func envoyJSONLogLabels() *structpb.Struct {
	return &structpb.Struct{Fields: map[string]*structpb.Value{
		"start_time":                        structpb.NewStringValue("%START_TIME%"),
		"route_name":                        structpb.NewStringValue("%ROUTE_NAME%"),
		"method":                            structpb.NewStringValue("%REQ(:METHOD)%"),
		"path":                              structpb.NewStringValue("%REQ(X-ENVOY-ORIGINAL-PATH?:PATH)%"),
		"protocol":                          structpb.NewStringValue("%PROTOCOL%"),
		"response_code":                     structpb.NewStringValue("%RESPONSE_CODE%"),
		"response_flags":                    structpb.NewStringValue("%RESPONSE_FLAGS%"),
		"response_code_details":             structpb.NewStringValue("%RESPONSE_CODE_DETAILS%"),
		"connection_termination_details":    structpb.NewStringValue("%CONNECTION_TERMINATION_DETAILS%"),
		"bytes_received":                    structpb.NewStringValue("%BYTES_RECEIVED%"),
		"bytes_sent":                        structpb.NewStringValue("%BYTES_SENT%"),
		"duration":                          structpb.NewStringValue("%DURATION%"),
		"upstream_service_time":             structpb.NewStringValue("%RESP(X-ENVOY-UPSTREAM-SERVICE-TIME)%"),
		"x_forwarded_for":                   structpb.NewStringValue("%REQ(X-FORWARDED-FOR)%"),
		"user_agent":                        structpb.NewStringValue("%REQ(USER-AGENT)%"),
		"request_id":                        structpb.NewStringValue("%REQ(X-REQUEST-ID)%"),
		"authority":                         structpb.NewStringValue("%REQ(:AUTHORITY)%"),
		"upstream_host":                     structpb.NewStringValue("%UPSTREAM_HOST%"),
		"upstream_cluster":                  structpb.NewStringValue("%UPSTREAM_CLUSTER%"),
		"upstream_local_address":            structpb.NewStringValue("%UPSTREAM_LOCAL_ADDRESS%"),
		"downstream_local_address":          structpb.NewStringValue("%DOWNSTREAM_LOCAL_ADDRESS%"),
		"downstream_remote_address":         structpb.NewStringValue("%DOWNSTREAM_REMOTE_ADDRESS%"),
		"requested_server_name":             structpb.NewStringValue("%REQUESTED_SERVER_NAME%"),
		"upstream_transport_failure_reason": structpb.NewStringValue("%UPSTREAM_TRANSPORT_FAILURE_REASON%"),
	}}
}

// accessLogs are the access loggers for one mode: the merged Telemetry providers, or, when no Telemetry
// (nor default provider) configures access logging, the legacy meshConfig.accessLogFile. Providers
// explicitly disabled log nothing and still keep the legacy setting out.
func (g *generator) accessLogs(mode telemetryapi.WorkloadMode) []*accesslogv3.AccessLog {
	mc := g.mesh.MeshConfig()
	cfgs := g.mesh.AccessLogging(g.proxy.Namespace, g.proxy.Labels, mode)
	if len(cfgs) == 0 {
		if mc.GetAccessLogFile() == "" {
			return nil
		}
		if al := fileAccessLogFromMesh(mc.GetAccessLogFile(), mc); al != nil {
			return []*accesslogv3.AccessLog{al}
		}
		return nil
	}
	var out []*accesslogv3.AccessLog
	for _, c := range cfgs {
		if c.Disabled {
			continue
		}
		al := providerAccessLog(c.Provider, mc)
		if al == nil {
			continue
		}
		if c.Filter != "" {
			al.Filter = &accesslogv3.AccessLogFilter{FilterSpecifier: &accesslogv3.AccessLogFilter_ExtensionFilter{
				ExtensionFilter: &accesslogv3.ExtensionFilter{
					Name:       celLogFilter,
					ConfigType: &accesslogv3.ExtensionFilter_TypedConfig{TypedConfig: toAny(&celv3.ExpressionFilter{Expression: c.Filter})},
				},
			}}
		}
		out = append(out, al)
	}
	return out
}

// providerAccessLog builds the access logger of an extension provider; nil for providers that do not log
// or that Skiff does not support: envoyOtelAls (its config needs the OpenTelemetry protos, a module Skiff
// does not build with), envoyHttpAls and envoyTcpAls (gRPC access log services).
func providerAccessLog(p *meshv1alpha1.MeshConfig_ExtensionProvider, mc *meshv1alpha1.MeshConfig) *accesslogv3.AccessLog {
	prov, ok := p.GetProvider().(*meshv1alpha1.MeshConfig_ExtensionProvider_EnvoyFileAccessLog)
	if !ok {
		return nil
	}
	fp := prov.EnvoyFileAccessLog
	path := fp.GetPath()
	if path == "" {
		path = devStdout
	}
	// The built-in provider takes its format from the mesh config, as in Istio.
	if p.GetName() == model.EnvoyAccessLogProvider {
		return fileAccessLogFromMesh(path, mc)
	}
	var format *corev3.SubstitutionFormatString
	switch {
	case fp.GetLogFormat().GetLabels() != nil:
		labels := fp.GetLogFormat().GetLabels()
		if len(labels.GetFields()) == 0 {
			labels = envoyJSONLogLabels()
		}
		format = jsonFormat(labels)
	default:
		format = textFormat(fp.GetLogFormat().GetText())
	}
	format.OmitEmptyValues = fp.GetOmitEmptyValues()
	return fileAccessLog(path, format)
}

// fileAccessLogFromMesh is the legacy accessLogFile, and the built-in envoy provider: TEXT with
// accessLogFormat (or Istio's line), or JSON with accessLogFormat parsed as the fields (or Istio's).
func fileAccessLogFromMesh(path string, mc *meshv1alpha1.MeshConfig) *accesslogv3.AccessLog {
	if mc.GetAccessLogEncoding() != meshv1alpha1.MeshConfig_JSON {
		return fileAccessLog(path, textFormat(mc.GetAccessLogFormat()))
	}
	labels := envoyJSONLogLabels()
	if f := mc.GetAccessLogFormat(); f != "" {
		parsed := &structpb.Struct{}
		// A malformed format falls back to the default fields, as in Istio, rather than losing the log.
		if err := protojson.Unmarshal([]byte(f), parsed); err == nil && len(parsed.GetFields()) > 0 {
			labels = parsed
		}
	}
	return fileAccessLog(path, jsonFormat(labels))
}

// textFormat is Istio's: the given line (a newline added when missing) or its default line.
func textFormat(text string) *corev3.SubstitutionFormatString {
	if text == "" {
		text = envoyTextLogFormat
	} else if !strings.HasSuffix(text, "\n") {
		text += "\n"
	}
	return withFormatters(&corev3.SubstitutionFormatString{Format: &corev3.SubstitutionFormatString_TextFormatSource{
		TextFormatSource: &corev3.DataSource{Specifier: &corev3.DataSource_InlineString{InlineString: text}},
	}}, text)
}

func jsonFormat(labels *structpb.Struct) *corev3.SubstitutionFormatString {
	var all strings.Builder
	for _, v := range labels.GetFields() {
		all.WriteString(v.GetStringValue())
	}
	return withFormatters(&corev3.SubstitutionFormatString{Format: &corev3.SubstitutionFormatString_JsonFormat{JsonFormat: labels}}, all.String())
}

// withFormatters adds the extension %REQ_WITHOUT_QUERY(...)% needs, when the format uses it.
func withFormatters(f *corev3.SubstitutionFormatString, used string) *corev3.SubstitutionFormatString {
	if strings.Contains(used, "%REQ_WITHOUT_QUERY") {
		f.Formatters = []*corev3.TypedExtensionConfig{{
			Name:        "envoy.formatter.req_without_query",
			TypedConfig: toAny(&reqwithoutqueryv3.ReqWithoutQuery{}),
		}}
	}
	return f
}

// fileAccessLog is nil for a config Envoy would reject, which the listener's validation cannot see.
func fileAccessLog(path string, format *corev3.SubstitutionFormatString) *accesslogv3.AccessLog {
	fl := &filev3.FileAccessLog{Path: path, AccessLogFormat: &filev3.FileAccessLog_LogFormat{LogFormat: format}}
	if fl.ValidateAll() != nil {
		return nil
	}
	return &accesslogv3.AccessLog{Name: fileAccessLogName, ConfigType: &accesslogv3.AccessLog_TypedConfig{TypedConfig: toAny(fl)}}
}
