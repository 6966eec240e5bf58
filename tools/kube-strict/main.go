// kube-strict reads rendered Kubernetes manifests (multi-document YAML) on stdin and
// decodes each one into its k8s.io/api (or sigs.k8s.io/gateway-api) Go type with unknown
// fields refused, as the API server's strict field validation does. JSON Schema validation (kubernetes-models in
// test/chart) cannot catch a misspelt field: Kubernetes' OpenAPI schemas allow extra
// properties. It prints one JSON line per document and exits 1 if any failed.
package main

import (
	"bufio"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"os"

	appsv1 "k8s.io/api/apps/v1"
	autoscalingv2 "k8s.io/api/autoscaling/v2"
	corev1 "k8s.io/api/core/v1"
	networkingv1 "k8s.io/api/networking/v1"
	policyv1 "k8s.io/api/policy/v1"
	utilyaml "k8s.io/apimachinery/pkg/util/yaml"
	gatewayv1 "sigs.k8s.io/gateway-api/apis/v1"
	"sigs.k8s.io/yaml"
)

// The kinds the chart renders; anything else is reported as "unknown-kind" (GKE's policy CRDs and
// Managed Prometheus' PodMonitoring, whose Go modules the module proxy does not serve).
var types = map[string]func() any{
	"apps/v1/Deployment":                     func() any { return &appsv1.Deployment{} },
	"apps/v1/StatefulSet":                    func() any { return &appsv1.StatefulSet{} },
	"v1/Service":                             func() any { return &corev1.Service{} },
	"v1/ConfigMap":                           func() any { return &corev1.ConfigMap{} },
	"v1/Secret":                              func() any { return &corev1.Secret{} },
	"v1/ServiceAccount":                      func() any { return &corev1.ServiceAccount{} },
	"v1/Pod":                                 func() any { return &corev1.Pod{} },
	"autoscaling/v2/HorizontalPodAutoscaler": func() any { return &autoscalingv2.HorizontalPodAutoscaler{} },
	"policy/v1/PodDisruptionBudget":          func() any { return &policyv1.PodDisruptionBudget{} },
	"networking.k8s.io/v1/NetworkPolicy":     func() any { return &networkingv1.NetworkPolicy{} },
	"gateway.networking.k8s.io/v1/Gateway":   func() any { return &gatewayv1.Gateway{} },
	"gateway.networking.k8s.io/v1/HTTPRoute": func() any { return &gatewayv1.HTTPRoute{} },
}

type result struct {
	Kind   string `json:"kind"`
	Name   string `json:"name"`
	Status string `json:"status"`
	Error  string `json:"error,omitempty"`
}

func main() {
	reader := utilyaml.NewYAMLReader(bufio.NewReader(os.Stdin))
	out := json.NewEncoder(os.Stdout)
	failed := false
	for {
		doc, err := reader.Read()
		if errors.Is(err, io.EOF) {
			break
		}
		if err != nil {
			fmt.Fprintln(os.Stderr, "kube-strict: reading input:", err)
			os.Exit(2)
		}
		var meta struct {
			APIVersion string `json:"apiVersion"`
			Kind       string `json:"kind"`
			Metadata   struct {
				Name string `json:"name"`
			} `json:"metadata"`
		}
		if err := yaml.Unmarshal(doc, &meta); err != nil {
			fmt.Fprintln(os.Stderr, "kube-strict: not a manifest:", err)
			os.Exit(2)
		}
		if meta.Kind == "" {
			continue // an empty document between separators
		}
		r := result{Kind: meta.APIVersion + "/" + meta.Kind, Name: meta.Metadata.Name, Status: "ok"}
		if newObject, known := types[r.Kind]; !known {
			r.Status = "unknown-kind"
		} else if err := yaml.UnmarshalStrict(doc, newObject()); err != nil {
			r.Status, r.Error, failed = "error", err.Error(), true
		}
		_ = out.Encode(r)
	}
	if failed {
		os.Exit(1)
	}
}
