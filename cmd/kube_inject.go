package cmd

import (
	"github.com/spf13/cobra"

	"skiff.dev/skiff/pkg/inject/kubeinject"
)

func newKubeInjectCmd(e *env) *cobra.Command {
	opts := kubeinject.Options{}
	c := &cobra.Command{
		Use:   "kube-inject -f FILE|DIR|-",
		Short: "Add the Skiff sidecar to workloads in YAML, offline",
		Long: `kube-inject adds the data plane to every pod template in the input (Pod, Deployment,
StatefulSet, DaemonSet, ReplicaSet, ReplicationController, Job, CronJob, OpenShift
DeploymentConfig and List items), as the admission webhook would: an istio-init container
that redirects traffic (istio-validation with CNI), the istio-proxy sidecar, its volumes,
Istio's labels and the sidecar.istio.io/status annotation. No cluster is needed.

The injection template and mesh config come from the selected profile (--profile,
--overlay, --set, as in install); --meshConfigFile, --injectConfigFile and --valuesFile
replace their part (istioctl's flags and file formats), and --from-cluster reads them from
the installed mesh instead (ConfigMaps istio and istio-sidecar-injector).

Other documents pass through unchanged, byte for byte. Pods that opt out
(sidecar.istio.io/inject: "false"), use hostNetwork, have no containers or are already
injected are skipped; stderr lists each workload as injected or skipped with the reason.
Injecting an injected file changes nothing; 'skiff x uninject' reverses it.`,
		Example: `  # inject a manifest and apply it
  skiff kube-inject -f app.yaml | kubectl apply -f -

  # a directory of manifests, written to a file
  skiff kube-inject -f k8s/ -o k8s-injected.yaml

  # with the demo profile and native sidecars
  skiff kube-inject -f app.yaml --profile demo --set spec.values.pilot.env.ENABLE_NATIVE_SIDECARS=true

  # with the configuration of the mesh installed in the current cluster
  skiff kube-inject -f app.yaml --from-cluster

  # with istioctl-style files
  skiff kube-inject -f app.yaml --meshConfigFile mesh.yaml --injectConfigFile inject.yaml --valuesFile values.json`,
		Args: cobra.NoArgs,
		RunE: func(c *cobra.Command, _ []string) error {
			opts.Global = e.global
			opts.Streams = e.streams
			return kubeinject.Run(c.Context(), opts)
		},
	}
	f := c.Flags()
	f.StringVarP(&opts.Filename, "filename", "f", "", "manifest to inject: a file, a directory, or - for stdin")
	f.StringVarP(&opts.Output, "output", "o", "", "write the injected manifest to this file instead of stdout")
	f.StringVar(&opts.Profile.Profile, "profile", "", "profile whose injection settings to use, as in install (default: an overlay's spec.profile, else default)")
	f.StringArrayVar(&opts.Profile.Overlays, "overlay", nil, "profile overlay file (install's -f), repeatable")
	f.StringArrayVarP(&opts.Profile.Sets, "set", "s", nil, "set a profile value, path=value, repeatable")
	f.StringVar(&opts.MeshConfigFile, "meshConfigFile", "", "mesh config file (the istio ConfigMap's mesh key)")
	f.StringVar(&opts.InjectConfigFile, "injectConfigFile", "", "injection template or injector config file (the istio-sidecar-injector ConfigMap's config key)")
	f.StringVar(&opts.ValuesFile, "valuesFile", "", "injection values file (the istio-sidecar-injector ConfigMap's values key)")
	f.StringVarP(&opts.Revision, "revision", "r", "", "control plane revision to inject for (names the ConfigMaps with --from-cluster)")
	f.BoolVar(&opts.FromCluster, "from-cluster", false, "read the configuration from the mesh installed in the cluster")
	return c
}
